"""Scripted answers for the trust tests: code that stays dangerous through its repairs, and a
reviewer whose verdict the test chooses. Used by engine, CLI, batch and app tests alike."""

from __future__ import annotations

import json
from collections.abc import Callable

from .provider_server import ProviderRequest, Reply

# Each still fails validation after a repair, because the fake answers the repair the same way.
DANGEROUS = {
    "os_system": (
        '"""Runner."""\nimport os\n\n\ndef run(command: str) -> int:\n    """Run it."""\n'
        "    return os.system(command)\n",
        "B605",
        7,
    ),
    "eval": (
        '"""Calculator."""\n\n\ndef calc(expr: str) -> object:\n    """Evaluate."""\n    return eval(expr)\n',
        "B307",
        6,
    ),
    "shell_true": (
        '"""Runner."""\nimport subprocess\n\n\ndef run(command: str) -> str:\n    """Run it."""\n'
        "    return subprocess.run(command, shell=True, capture_output=True, text=True).stdout\n",
        "B602",
        7,
    ),
    # indirection only Templar's own AST rules see (Bandit alone passes these)
    "dunder_import": (
        '"""Runner."""\n\n\ndef run(cmd: str) -> int:\n    """Run it."""\n    return __import__("os").system(cmd)\n',
        "TPL101",
        6,
    ),
    "getattr": (
        '"""Runner."""\nimport os\n\n\ndef run(cmd: str) -> int:\n    """Run it."""\n'
        '    return getattr(os, "system")(cmd)\n',
        "TPL101",
        7,
    ),
}
SAFE = '"""Adder."""\n\n\ndef add(a: int, b: int) -> int:\n    """Sum."""\n    return a + b\n'


def is_review(request: ProviderRequest) -> bool:
    return "review code" in (request.messages()[0][1] if request.messages() else "")


def reviews(requests: list[ProviderRequest]) -> list[ProviderRequest]:
    return [r for r in requests if is_review(r)]


def answering(
    code: str, verdict: str | Callable[[str], str] = "approve", issues: tuple[str, ...] = ("it runs user input",)
) -> Callable[[ProviderRequest], Reply]:
    """Every generation (and repair) gets ``code``; every review gets ``verdict`` (or
    ``verdict(code_under_review)``) with ``issues`` when it is not an approval."""

    def answer(request: ProviderRequest) -> Reply:
        if is_review(request):
            text = request.last_user_text
            said = verdict(text) if callable(verdict) else verdict
            body = {"verdict": said, "issues": [] if said == "approve" else list(issues)}
            return Reply(text=json.dumps(body), tokens_in=200, tokens_out=12)
        if "reusable template" in (request.messages()[0][1] if request.messages() else ""):
            return Reply(text="{}", tokens_in=100, tokens_out=2)
        return Reply(text=f"```python\n{code}```", tokens_in=300, tokens_out=60)

    return answer
