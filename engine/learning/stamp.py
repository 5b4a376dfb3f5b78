"""The learned library's version stamp, readable without loading the library (a cache hit reads
it in its one probe hop and never imports templates, matching or Jinja)."""

from __future__ import annotations

from engine.store.models import Template

STAMP_SQL = (
    "SELECT (SELECT MAX(id) FROM template), (SELECT MAX(id) FROM template_version), (SELECT MAX(id) FROM wrong_report)"
)


def read_stamp() -> tuple[int, ...]:
    """Changes whenever a template is added, changed or retired, or an answer is reported wrong
    (see ``TemplateLibrary.stamp``). Runs on the database thread."""
    row = Template._meta.database.execute_sql(STAMP_SQL).fetchone()
    return (int(row[0] or 0), int(row[1] or 0), int(row[2] or 0)) if row else (0, 0, 0)
