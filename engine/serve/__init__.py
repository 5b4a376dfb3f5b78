"""``templar serve``: the engine as a long-running HTTP server (OpenAI-compatible and native API).

Modules: ``app`` (routes, bearer guard, lifespan), ``openai_compat`` (``/v1/chat/completions``),
``native`` (``/api/*``), ``review`` (``/api/suggestions*``, ``/api/templates/{id}``), ``common`` (request parsing, error mapping), ``lifecycle`` (warm-up,
per-project limits, clean shutdown). Importing this package imports starlette; the CLI loads it
only when ``templar serve`` runs (never for ``--help``).
"""
