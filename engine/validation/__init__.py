"""Validate generated Python code without ever executing it.

    from engine.validation import CodeValidator, ValidationPolicy
    report = CodeValidator(ValidationPolicy(block_severity="medium")).validate(code)
    report.ok, report.score, report.blocking, report.to_dict()

Checkers, in order:

1. syntax   ``compile(code, filename, "exec", dont_inherit=True)`` (the code object is discarded)
            and ``ast.parse``. A SyntaxError (or null bytes, or nesting too deep to compile) is
            one blocking "high" finding with its line; the other checkers are then skipped and
            the report has score 0 and both coverages 0.0. Syntax and deprecation warnings
            (``x is 1``, invalid escapes) are "syntax-warning" findings, low, non-blocking.
2. security Bandit, in process, ``# nosec`` ignored. Severity = Bandit's, adjusted by a small
            documented table (engine/validation/security.py): hard-coded passwords and shell
            calls at least medium, weak-hash (B324) and urlopen audit (B310) at most low.
            Then Templar's AST layer (engine/validation/ast_rules.py, one walk): rules TPL1xx
            for what indirection hides from Bandit (aliases, getattr/import_module with
            constant strings, __builtins__/globals()/sys.modules subscripts), shell argument
            lists, process spawning, dynamic and native code, deserialisation, destructive
            ops on broad targets, credentials + network egress, reverse shells, persistence,
            weak hashes and predictable randomness for secrets, disabled TLS. A rule that an
            equivalent Bandit test already reported on the same line is not repeated.
            Every security finding has a fix ``hint``. Findings at or above
            ``policy.block_severity`` block (``severity_overrides`` accept TPL ids too). If
            Bandit or the walk fails: one blocking "security-scan-failed" finding (fail closed).
3. types    share of functions fully annotated (params + return), ruff-style ids ANN0xx/ANN2xx.
4. docs     share of public module/classes/functions with a docstring, ids D100-D106.
            Both coverages come from one ``ast`` walk (see engine/validation/coverage.py for
            the exact definitions; no functions / no public items -> 1.0). Their findings are
            low and block only when ``policy.coverage_blocks`` and the coverage is below its
            minimum (then a "coverage-types"/"coverage-docs" summary finding is added too).

Score (0..100, deterministic):

    penalty = sum over security findings and syntax warnings of
              {low: 2, medium: 15, high: 30}
            + 10 for each coverage (types, docs) below its policy minimum
    raw     = max(0, 100 - penalty)
    score   = round_half_up(raw * (0.8 + 0.1 * type_hint_coverage + 0.1 * docstring_coverage))
    if any finding blocks: score = min(score, 49)
    syntax error: score = 0

So a clean, fully annotated and documented module scores 100 (95 if only the module docstring
is missing), missing every hint and docstring costs at most 20 points, and a blocked answer
always scores below 50.

Importing this package is cheap (stdlib only); Bandit is imported on the first validation
(or ``CodeValidator().warm_up()``).
"""

from __future__ import annotations

from engine.validation.models import SEVERITIES, Finding, ValidationPolicy, ValidationReport
from engine.validation.validator import CodeValidator, validate_async

__all__ = [
    "SEVERITIES",
    "CodeValidator",
    "Finding",
    "ValidationPolicy",
    "ValidationReport",
    "validate_async",
]
