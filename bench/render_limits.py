"""What the render limits cost (engine/templates/bounded.py): one typical template render with
and without the time limit (the watchdog registration), in microseconds. Prints numbers; asserts nothing.

    .venv/bin/python bench/render_limits.py
"""

from __future__ import annotations

import contextlib
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import engine.templates.render as render  # noqa: E402

BODY = (
    '"""{{ name|doc }} settings."""\n\n{% for f in fields %}{{ f|constant }}: int = {{ loop.index }}\n'
    "{% endfor %}{{ name|pascal }}_LIMIT: int = {{ value|repr }}\n"
)
BINDINGS = {"name": "retry policy", "fields": ["first", "second", "third"], "value": 5}


def per_render_us(n: int = 3000, rounds: int = 5) -> float:
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(n):
            render.render_body(BODY, BINDINGS)
        samples.append((time.perf_counter() - start) / n * 1e6)
    return statistics.median(samples)


def main() -> None:
    bounded = per_render_us()
    real = render.bounded
    render.bounded = lambda *a, **k: contextlib.nullcontext()  # type: ignore[assignment]
    try:
        bare = per_render_us()
    finally:
        render.bounded = real
    print(f"render with limits    {bounded:8.1f} us (median of 5 x 3000)")
    print(f"render without limit  {bare:8.1f} us")
    print(f"cost of the limit     {bounded - bare:8.1f} us per render")


if __name__ == "__main__":
    main()
