"""CodeValidator: syntax, security, type-hint and docstring checks, and the quality score.

Nothing here executes the code: it is compiled (``compile(..., dont_inherit=True)``; the code
object is thrown away), parsed to an ``ast`` and scanned by Bandit's AST visitor.
See the package docstring (``engine/validation/__init__.py``) for the score formula.
"""

from __future__ import annotations

import ast
import hashlib
import math
import sys
import threading
from collections import OrderedDict

from engine.validation import ast_rules as _ast_rules
from engine.validation import coverage as _coverage
from engine.validation import security as _security
from engine.validation.ast_rule_catalog import RULES
from engine.validation.models import Finding, ValidationPolicy, ValidationReport
from engine.validation.warning_capture import capture_own_warnings

#: Score points lost per security finding or syntax warning, by severity.
PENALTY = {"low": 2, "medium": 15, "high": 30}
#: Score points lost per coverage (types, docs) below its policy minimum.
BELOW_MINIMUM_PENALTY = 10
#: Highest score a report with a blocking finding can get.
BLOCKED_SCORE_CAP = 49

_PYTHON = "{}.{}.{}".format(*sys.version_info[:3])
_CHECKER_ORDER = {"syntax": 0, "security": 1, "types": 2, "docs": 3}


def _compile(code: str, filename: str) -> tuple[ast.Module | None, Finding | None, list[Finding]]:
    """Compile (never run) and parse. Returns (tree, syntax error finding, syntax warnings)."""
    # Never warnings.catch_warnings(): it would drop filters other threads add meanwhile
    # (issue 11 item 13); see engine/validation/warning_capture.py.
    with capture_own_warnings(filename) as caught:
        try:
            compile(code, filename, "exec", dont_inherit=True)
            tree = ast.parse(code, filename)
        except SyntaxError as exc:  # includes IndentationError / TabError
            text = (exc.text or "").strip()
            if len(text) > 120:
                text = text[:117] + "..."
            where = f" (line {exc.lineno}, column {exc.offset})" if exc.lineno else ""
            message = f"SyntaxError: {exc.msg}{where}" + (f": {text}" if text else "")
            return None, Finding("syntax", "syntax", "high", exc.lineno or None, message, True), []
        except (ValueError, UnicodeError) as exc:  # e.g. null bytes, lone surrogates
            return (
                None,
                Finding("syntax", "syntax", "high", None, f"{type(exc).__name__}: {exc}", True),
                [],
            )
        except (RecursionError, MemoryError) as exc:
            message = f"code too deeply nested to compile ({type(exc).__name__})"
            return None, Finding("syntax", "syntax", "high", None, message, True), []
    found = []
    seen = set()
    for w in caught:
        if not issubclass(w.category, (SyntaxWarning, DeprecationWarning)) or w.filename != filename:
            continue
        key = (w.lineno, str(w.message))
        if key in seen:  # compile and ast.parse both warn for tokenizer-level problems
            continue
        seen.add(key)
        found.append(
            Finding(
                "syntax-warning",
                "syntax",
                "low",
                w.lineno or None,
                f"{w.category.__name__}: {w.message}",
                False,
            )
        )
    return tree, None, found


def _score(findings: list[Finding], type_cov: float, doc_cov: float, below_minimum: int, blocked: bool) -> int:
    penalty = sum(PENALTY[f.severity] for f in findings if f.checker in ("security", "syntax"))
    raw = max(0, 100 - penalty - BELOW_MINIMUM_PENALTY * below_minimum)
    score = math.floor(raw * (0.8 + 0.1 * type_cov + 0.1 * doc_cov) + 0.5)
    if blocked:
        score = min(score, BLOCKED_SCORE_CAP)
    return max(0, min(100, score))


#: Reports remembered per process (see ``CodeValidator.validate``).
MEMO_SIZE = 2048
_MEMO: OrderedDict[tuple[str, str, ValidationPolicy], ValidationReport] = OrderedDict()
_MEMO_LOCK = threading.Lock()


class CodeValidator:
    """Validates generated Python code under a :class:`ValidationPolicy`. Thread-safe."""

    def __init__(self, policy: ValidationPolicy | None = None) -> None:
        self.policy = policy if policy is not None else ValidationPolicy()
        self._overrides = dict(self.policy.severity_overrides)

    def warm_up(self) -> None:
        """Load Bandit now (about 0.1-0.2 s) instead of on the first ``validate``."""
        _security.bandit_version()

    def validate(self, code: str, *, filename: str = "generated.py") -> ValidationReport:
        """Check ``code`` without executing it and return the report.

        Reports are remembered per process by (sha256 of the code, file name, policy): the same
        code under the same policy and the same validator gives the same report, so a repeated
        cache or template hit does not pay Bandit again. Safe because the key holds everything
        the report depends on; a new Templar version is a new process, hence an empty memo."""
        key = (hashlib.sha256(code.encode("utf-8", "surrogatepass")).hexdigest(), filename, self.policy)
        with _MEMO_LOCK:
            report = _MEMO.get(key)
            if report is not None:
                _MEMO.move_to_end(key)
                return report
        report = self._validate(code, filename)
        with _MEMO_LOCK:
            _MEMO[key] = report
            while len(_MEMO) > MEMO_SIZE:
                _MEMO.popitem(last=False)
        return report

    def _validate(self, code: str, filename: str) -> ValidationReport:
        policy = self.policy
        checkers = [f"syntax:compile {_PYTHON}"]
        tree, error, findings = _compile(code, filename)
        if error is not None:
            return ValidationReport(
                ok=False,
                score=0,
                findings=(error,),
                type_hint_coverage=0.0,
                docstring_coverage=0.0,
                checkers=tuple(checkers),
            )
        if tree is None:  # pragma: no cover - _compile returns a tree or an error
            raise RuntimeError("compile returned neither a tree nor an error")

        # Security: Bandit, then Templar's AST layer (indirection Bandit cannot see).
        bandit_issues: list[_security.RawIssue] = []
        try:
            # Bandit parses the code again (as "<unknown>"), which would print any syntax
            # warning a second time: this thread's warnings during the scan are dropped.
            with capture_own_warnings("<unknown>", everything=True):
                bandit_issues = _security.scan(code, filename, self._overrides)
            checkers.append(f"security:bandit {_security.bandit_version()}")
            for issue in bandit_issues:
                findings.append(
                    Finding(
                        issue.test_id,
                        "security",
                        issue.severity,
                        issue.line,
                        issue.message,
                        policy.blocks(issue.severity),
                        _security.hint_for(issue.test_id),
                    )
                )
        except _security.ScanFailed as exc:
            version = _security.bandit_version()
            checkers.append(f"security:bandit {version} (failed)" if version else "security:bandit unavailable")
            findings.append(Finding("security-scan-failed", "security", "high", None, str(exc), True))
        scan_failed = any(f.rule_id == "security-scan-failed" for f in findings)
        findings.extend(
            f
            for f in self._ast_findings(tree, bandit_issues, checkers)
            if not (scan_failed and f.rule_id == "security-scan-failed")  # one is enough
        )

        # Type hints and docstrings (one ast walk).
        cov = _coverage.measure(tree)
        checkers.append(f"types:ast {_PYTHON}")
        checkers.append(f"docs:ast {_PYTHON}")
        below_minimum = 0
        for checker, value, minimum, missing, label in (
            (
                "types",
                cov.type_hint_coverage,
                policy.min_type_hint_coverage,
                cov.missing_types,
                "type-hint",
            ),
            (
                "docs",
                cov.docstring_coverage,
                policy.min_docstring_coverage,
                cov.missing_docs,
                "docstring",
            ),
        ):
            below = value < minimum
            blocks = below and policy.coverage_blocks
            if below:
                below_minimum += 1
                findings.append(
                    Finding(
                        f"coverage-{checker}",
                        checker,
                        "low",
                        None,
                        f"{label} coverage {value:.0%} is below the required {minimum:.0%}",
                        blocks,
                    )
                )
            findings.extend(Finding(m.rule_id, checker, "low", m.line, m.message, blocks) for m in missing)

        blocked = any(f.blocking for f in findings)
        findings.sort(
            key=lambda f: (
                f.line if f.line is not None else -1,
                _CHECKER_ORDER.get(f.checker, 9),
                f.rule_id,
                f.message,
            )
        )
        return ValidationReport(
            ok=not blocked,
            score=_score(findings, cov.type_hint_coverage, cov.docstring_coverage, below_minimum, blocked),
            findings=tuple(findings),
            type_hint_coverage=cov.type_hint_coverage,
            docstring_coverage=cov.docstring_coverage,
            checkers=tuple(checkers),
        )

    def _ast_findings(
        self, tree: ast.Module, bandit_issues: list[_security.RawIssue], checkers: list[str]
    ) -> list[Finding]:
        """Templar's AST rules; what an equivalent Bandit test already reported on the same
        line is not repeated (Bandit's severity stands). A tree too deep to walk fails closed."""
        try:
            issues = _ast_rules.scan(tree)
        except RecursionError:
            checkers.append(f"security:ast {_ast_rules.VERSION} (failed)")
            return [
                Finding(
                    "security-scan-failed",
                    "security",
                    "high",
                    None,
                    "the AST security rules could not walk the code (nesting too deep)",
                    True,
                )
            ]
        checkers.append(f"security:ast {_ast_rules.VERSION}")
        out = []
        for issue in issues:
            severity = self._overrides.get(issue.rule_id, issue.severity)
            equivalents = RULES[issue.rule_id].bandit_equivalents
            if any(b.line == issue.line and b.test_id in equivalents for b in bandit_issues):
                continue
            out.append(
                Finding(
                    issue.rule_id,
                    "security",
                    severity,
                    issue.line,
                    issue.message,
                    self.policy.blocks(severity),
                    issue.hint,
                )
            )
        return out

    async def validate_async(self, code: str, *, filename: str = "generated.py") -> ValidationReport:
        """:meth:`validate` in a worker thread, so an event loop (the TUI) is never blocked."""
        import asyncio

        return await asyncio.to_thread(self.validate, code, filename=filename)


async def validate_async(
    code: str, *, filename: str = "generated.py", policy: ValidationPolicy | None = None
) -> ValidationReport:
    """Validate ``code`` in a worker thread with ``policy`` (default policy if None)."""
    return await CodeValidator(policy or ValidationPolicy()).validate_async(code, filename=filename)
