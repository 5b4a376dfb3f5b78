"""The one door: ``Engine`` methods grouped by area, as mixin classes ``Engine`` inherits.

Each module here adds typed async methods for what the CLI and the app do (config, budget,
stats, doctor and providers, store maintenance ...), returning plain data: frozen dataclasses,
typed dicts or JSON-ready dicts, never database rows. The CLI and the app call these methods
(plus events, errors and formatting helpers); they never reach into ``engine.store``,
``engine.config.cascade``, ``engine.learning`` or ``engine.llm``.

Invariant: importing a module here is cheap. Internals are imported inside the methods, so a
template or cache hit never loads the code behind ``templar stats`` or ``templar doctor``.
"""
