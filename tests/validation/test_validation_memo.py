"""The validator remembers reports per (code, file name, policy), so repeated hits skip Bandit."""

from __future__ import annotations

import pytest

from engine.validation import CodeValidator, ValidationPolicy
from engine.validation import security as sec

CODE = '"""Adds."""\n\n\ndef add(a: int, b: int) -> int:\n    """Return a + b."""\n    return a + b\n'
RISKY = 'import os\n\n\ndef run(cmd: str) -> None:\n    """Run it."""\n    os.system(cmd)\n'


@pytest.fixture
def scans(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    seen: list[str] = []
    real = sec.scan

    def counting(code: str, *args: object, **kwargs: object):  # noqa: ANN202 - same as sec.scan
        seen.append(code)
        return real(code, *args, **kwargs)

    monkeypatch.setattr(sec, "scan", counting)
    return seen


def test_the_same_code_and_policy_is_scanned_once(scans: list[str]) -> None:
    first = CodeValidator().validate(CODE)
    second = CodeValidator().validate(CODE)
    assert first == second and first.ok
    assert len(scans) == 1


def test_other_code_or_another_policy_is_scanned_again(scans: list[str]) -> None:
    CodeValidator().validate(CODE)
    blocked = CodeValidator().validate(RISKY)
    strict = CodeValidator(ValidationPolicy(min_docstring_coverage=1.0, coverage_blocks=True)).validate(CODE)
    assert not blocked.ok
    assert len(scans) == 3
    assert strict.ok  # same verdict here, but it was computed for its own policy
    assert CodeValidator().validate(RISKY) == blocked and len(scans) == 3
