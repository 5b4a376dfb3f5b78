"""Security findings from Bandit, run in process on a string (no temporary file, no subprocess).

Bandit is imported lazily, on the first scan (about 0.1-0.2 s once per process: plugin
discovery through entry points); after that a 200-line file scans in about 5 ms.
``# nosec`` comments are ignored: generated code must not be able to silence its own scan.
Bandit's log records are not printed (its ``bandit`` logger gets a NullHandler and does not
propagate), and the ``warnings.formatwarning`` hook that Bandit replaces at import is restored.

Severity mapping. A finding's severity is Bandit's ``issue_severity`` (LOW/MEDIUM/HIGH ->
low/medium/high), then adjusted by this small table of policy overrides (no detector of our own;
confidence is reported in the message but does not change the severity, so e.g. SQL built in a
variable and executed later, which Bandit flags MEDIUM with LOW confidence, still blocks):

======  ==================================  ==========================  =====================
test    what                                Bandit says                 Templar uses
======  ==================================  ==========================  =====================
B105    hard-coded password (assignment)    LOW                         at least medium
B106    hard-coded password (call kwarg)    LOW                         at least medium
B107    hard-coded password (default arg)   LOW                         at least medium
B602    subprocess call with shell=True     LOW if command is literal,  at least medium
                                            HIGH otherwise
B605    os.system / os.popen (shell)        LOW if literal, else HIGH   at least medium
B324    md5/sha1 without                    HIGH                        at most low
        usedforsecurity=False
B310    urllib urlopen (audit: file://      MEDIUM                      at most low
        scheme possible)
======  ==================================  ==========================  =====================

Why: a credential written into generated code ends up in files and repositories, and generated
code has no business starting a shell even with a literal command line, so both block under
the default policy ("medium"). Weak hashes are mostly checksums and cache keys in generated
code (HumanEval/162 asks for an md5 digest); Bandit cannot see intent, so they are reported
but do not block; md5/sha1 used for a password, token or signature is Templar's own TPL160
(medium, blocks). B310 is an audit of every ``urlopen`` call with a variable URL, which is what
a downloader does; sending secrets anywhere is TPL150. ``assert`` (B101), ``random`` (B311) and ``import subprocess`` (B404) are LOW
in Bandit and stay low: reported, never blocking under the default policy.
``ValidationPolicy.severity_overrides`` replaces the table entry for a test id.

If Bandit is missing or fails on the code, the result is a blocking "security-scan-failed"
finding: the validator fails closed rather than passing unscanned code.
"""

from __future__ import annotations

import io
import threading
import warnings
from dataclasses import dataclass
from typing import Any

from engine.validation.models import SEVERITIES, severity_rank
from engine.validation.warning_capture import capture_own_warnings

#: Minimum severity for a Bandit test id (policy, see the module docstring).
SEVERITY_FLOORS: dict[str, str] = {
    "B105": "medium",
    "B106": "medium",
    "B107": "medium",
    "B602": "medium",
    "B605": "medium",
}
#: Maximum severity for a Bandit test id (policy, see the module docstring).
SEVERITY_CAPS: dict[str, str] = {
    "B324": "low",
    "B310": "low",
}


def hint_for(test_id: str) -> str:
    """A one-sentence fix for a Bandit test id ("" if we have nothing specific)."""
    from engine.validation.ast_rule_catalog import BANDIT_HINTS

    hint = BANDIT_HINTS.get(test_id)
    if hint is not None:
        return hint
    return f"Rewrite the flagged code as Bandit's message says (Bandit {test_id})." if test_id.startswith("B") else ""


@dataclass(frozen=True)
class RawIssue:
    """One Bandit issue with Templar's severity already applied."""

    test_id: str
    severity: str
    line: int | None
    message: str


class ScanFailed(Exception):
    """Bandit is missing or could not scan the code."""


class _Bandit:
    """Bandit's configuration and test set, loaded once and shared (read-only) by all scans."""

    def __init__(self) -> None:
        import logging

        # Bandit's plugin loader (stevedore) logs an ERROR for optional formatters whose
        # dependencies are absent (e.g. sarif); we use no formatter, so keep it quiet.
        for name in ("stevedore", "stevedore.extension"):
            quiet = logging.getLogger(name)
            if not any(isinstance(h, logging.NullHandler) for h in quiet.handlers):
                quiet.addHandler(logging.NullHandler())
            quiet.propagate = False
        saved_formatwarning = warnings.formatwarning
        try:
            import bandit
            from bandit.core import config as b_config
            from bandit.core import meta_ast as b_meta_ast
            from bandit.core import metrics as b_metrics
            from bandit.core import node_visitor as b_node_visitor
            from bandit.core import test_set as b_test_set
        finally:
            # bandit.core.tester replaces the process-wide warning formatter at import.
            warnings.formatwarning = saved_formatwarning
        logger = logging.getLogger("bandit")
        if not any(isinstance(h, logging.NullHandler) for h in logger.handlers):
            logger.addHandler(logging.NullHandler())
        logger.propagate = False
        self.version: str = getattr(bandit, "__version__", "unknown")
        self._meta_ast = b_meta_ast
        self._metrics = b_metrics
        self._node_visitor = b_node_visitor
        self._test_set = b_test_set.BanditTestSet(b_config.BanditConfig(), profile={})

    def scan(self, code: str, filename: str) -> list[Any]:
        """Bandit's issues for ``code``; raises on any Bandit failure."""
        visitor = self._node_visitor.BanditNodeVisitor(
            filename,
            io.BytesIO(code.encode("utf-8", "surrogatepass")),
            self._meta_ast.BanditMetaAst(),
            self._test_set,
            False,  # debug
            {},  # no suppression lines: nosec comments in generated code are ignored
            self._metrics.Metrics(),
        )
        visitor.process(code)
        return list(visitor.tester.results)


_engine: _Bandit | None = None
_engine_error: str | None = None

#: Guards loading Bandit once (re-entrant: a scan may trigger the load).
_LOAD_LOCK = threading.RLock()


def _load() -> _Bandit:
    global _engine, _engine_error
    if _engine is None and _engine_error is None:
        with _LOAD_LOCK:
            if _engine is None and _engine_error is None:
                try:
                    # stevedore warns (DeprecationWarning) about an argument Bandit passes: this
                    # thread's warnings are dropped while loading, without touching the
                    # process-wide filters (warnings.catch_warnings would; issue 11 item 13).
                    with capture_own_warnings("<bandit load>", everything=True):
                        _engine = _Bandit()
                except Exception as exc:  # ImportError, or a Bandit API change
                    _engine_error = f"{type(exc).__name__}: {exc}"
    if _engine is None:
        raise ScanFailed(f"Bandit is not available ({_engine_error})")
    return _engine


def bandit_version() -> str | None:
    """Bandit's version, loading it if needed; None if it cannot be loaded."""
    try:
        return _load().version
    except ScanFailed:
        return None


def effective_severity(test_id: str, bandit_severity: str, overrides: dict[str, str] | None = None) -> str:
    """Templar's severity for a Bandit finding: Bandit's, then the floor/cap table, then overrides."""
    severity = bandit_severity.lower()
    if severity not in SEVERITIES:
        severity = "high"  # unknown ranking from a future Bandit: be strict
    if overrides and test_id in overrides:
        return overrides[test_id]
    floor = SEVERITY_FLOORS.get(test_id)
    if floor is not None and severity_rank(severity) < severity_rank(floor):
        severity = floor
    cap = SEVERITY_CAPS.get(test_id)
    if cap is not None and severity_rank(severity) > severity_rank(cap):
        severity = cap
    return severity


def scan(code: str, filename: str, overrides: dict[str, str] | None = None) -> list[RawIssue]:
    """Run Bandit over ``code`` (already known to compile). Raises ScanFailed."""
    engine = _load()
    try:
        issues = engine.scan(code, filename)
    except Exception as exc:  # RecursionError on absurdly deep expressions, Bandit bugs
        raise ScanFailed(f"Bandit could not scan the code ({type(exc).__name__}: {exc})") from exc
    out = []
    for issue in issues:
        test_id = str(getattr(issue, "test_id", "") or "B000")
        bandit_sev = str(getattr(issue, "severity", "HIGH"))
        confidence = str(getattr(issue, "confidence", "UNDEFINED")).lower()
        severity = effective_severity(test_id, bandit_sev, overrides)
        details = [f"bandit severity {bandit_sev.lower()}", f"confidence {confidence}"]
        cwe = getattr(issue, "cwe", None)
        cwe_id = getattr(cwe, "id", 0)
        if cwe_id:
            details.append(f"CWE-{cwe_id}")
        if severity != bandit_sev.lower():
            details.append(f"Templar policy: {severity}")
        text = str(getattr(issue, "text", "")).strip()
        line = getattr(issue, "lineno", None)
        out.append(
            RawIssue(
                test_id=test_id,
                severity=severity,
                line=line if isinstance(line, int) and line > 0 else None,
                message=f"{text} ({'; '.join(details)})",
            )
        )
    return out
