"""Peewee models: the usage ledger, budgets, reservations, cache, templates, suggestions, alerts.

Invariants: money is integer micro-dollars (``*_micros``); times are UTC epoch seconds
(``DoubleField``) plus a ``day`` string for grouping; no column ever holds a secret.
Rows never cross the engine boundary: repositories turn them into dataclasses.

Which database a query uses (issue #12): ``engine.store.binding``; its names are re-exported here.
"""

from __future__ import annotations

from peewee import (
    AutoField,
    BigIntegerField,
    BooleanField,
    CharField,
    DoubleField,
    ForeignKeyField,
    IntegerField,
    TextField,
)

# re-exported: engine.store.db, engine.store.sql and others import them from here
from engine.store.binding import BaseModel as BaseModel
from engine.store.binding import StoreBoundDatabase as StoreBoundDatabase
from engine.store.binding import bind_thread as bind_thread
from engine.store.binding import current_database as current_database
from engine.store.binding import database_proxy as database_proxy


class LedgerEntry(BaseModel):
    """One row per provider attempt, cache hit or template use (and reconciliation)."""

    id = AutoField()
    ts = DoubleField(index=True)
    day = CharField(max_length=10)
    request_id = CharField(max_length=36, index=True)
    project = CharField(max_length=64, default="")
    agent = CharField(max_length=64, default="")
    source = CharField(max_length=16)  # llm | cache | learned | builtin | review | suggest | reconcile
    provider = CharField(max_length=64, default="")
    model = CharField(max_length=128, default="")
    attempt = IntegerField(default=0)
    tokens_in = IntegerField(default=0)
    tokens_out = IntegerField(default=0)
    cost_micros = BigIntegerField(default=0)
    saved_micros = BigIntegerField(default=0)
    latency_ms = IntegerField(default=0)
    outcome = CharField(max_length=16)  # pending | ok | error | interrupted | refused
    error_class = CharField(max_length=32, null=True)
    estimated = BooleanField(default=False)  # cost is the worst case, not measured usage
    reservation_id = CharField(max_length=36, null=True)
    owner = CharField(max_length=128, default="")


class BudgetCounter(BaseModel):
    """Spend and reservations of one budget (scope + key) in one period."""

    id = AutoField()
    scope = CharField(max_length=8)  # system | project | agent
    key = CharField(max_length=130)  # "" | project | project/agent
    period = CharField(max_length=10)  # 2026-11-25 | 2026-11 | total
    limit_micros = BigIntegerField(null=True)
    spent_micros = BigIntegerField(default=0)
    reserved_micros = BigIntegerField(default=0)

    class Meta:
        indexes = ((("scope", "key", "period"), True),)


class Reservation(BaseModel):
    """Worst-case cost held against up to three counters while a paid call runs."""

    id = CharField(max_length=36, primary_key=True)
    owner = CharField(max_length=128, index=True)
    host = CharField(max_length=64)
    pid = IntegerField()
    created = DoubleField()
    amount_micros = BigIntegerField()
    counter_ids = CharField(max_length=64)  # comma-separated BudgetCounter ids
    ledger_id = IntegerField(null=True)
    state = CharField(max_length=12, index=True)  # held | settled | released | reconciled


class CacheEntry(BaseModel):
    """A validated answer, keyed by everything that changes it."""

    id = AutoField()
    key = CharField(max_length=64, unique=True)
    created = DoubleField()
    expires = DoubleField(index=True)
    last_used = DoubleField(index=True)
    hits = IntegerField(default=0)
    provider = CharField(max_length=64)
    model = CharField(max_length=128)
    text = TextField()
    code = TextField()
    tokens_in = IntegerField(default=0)
    tokens_out = IntegerField(default=0)
    cost_micros = BigIntegerField(default=0)


class AlertEvent(BaseModel):
    """A budget crossing into an alert level, recorded once per period."""

    id = AutoField()
    ts = DoubleField()
    scope = CharField(max_length=8)
    key = CharField(max_length=130)
    period = CharField(max_length=10)
    level = IntegerField()
    percent = DoubleField()

    class Meta:
        indexes = ((("scope", "key", "period", "level"), True),)


class Template(BaseModel):
    """A learned template (the current version; history in TemplateVersion)."""

    id = AutoField()
    name = CharField(max_length=128)
    language = CharField(max_length=32, default="python")
    pattern = TextField()
    body = TextField()
    params = TextField()  # JSON list of {name, type, description, example}
    status = CharField(max_length=12, index=True)  # active | retired
    version = IntegerField(default=1)
    uses = IntegerField(default=0)
    failures = IntegerField(default=0)
    saved_micros = BigIntegerField(default=0)
    quality = IntegerField(default=0)
    counterfactual_micros = BigIntegerField(default=0)  # cost of the paid call it replaces
    created = DoubleField()
    updated = DoubleField()
    retired_reason = TextField(null=True)


class TemplateAlias(BaseModel):
    """Another wording of a learned template's task (migration 0011): its paid answer was what the
    template renders with ``fixed`` (JSON bindings) plus the pattern's slots."""

    id = AutoField()
    template = IntegerField(index=True)
    pattern = TextField()
    fixed = TextField(default="{}")
    status = CharField(max_length=12, default="active")  # active | retired
    hits = IntegerField(default=0)
    suggestion = IntegerField(null=True)
    created = DoubleField()


class TemplateVersion(BaseModel):
    id = AutoField()
    template = ForeignKeyField(Template, backref="versions", on_delete="CASCADE")
    version = IntegerField()
    pattern = TextField()
    body = TextField()
    params = TextField()
    quality = IntegerField(default=0)
    created = DoubleField()
    reason = TextField(default="")


class Suggestion(BaseModel):
    """A parameterization suggestion for a validated paid answer, pending review."""

    id = AutoField()
    created = DoubleField()
    status = CharField(max_length=12, index=True)  # pending | accepted | rejected
    name = CharField(max_length=64, default="")  # the name the model proposed for the template
    project = CharField(max_length=64, default="")
    agent = CharField(max_length=64, default="")
    task = TextField()
    code = TextField()
    pattern = TextField()
    params = TextField()  # JSON list of {name, type, value, description, confidence}
    confidence = DoubleField(default=0.0)
    reason = TextField(default="")  # why it is still pending (e.g. round trip failed)
    provider = CharField(max_length=64, default="")
    model = CharField(max_length=128, default="")
    cost_micros = BigIntegerField(default=0)
    request_id = CharField(max_length=36, default="")
    template = ForeignKeyField(Template, null=True, backref="suggestions", on_delete="SET NULL")


class ProviderHealth(BaseModel):
    """Consecutive failures of one provider endpoint or one credential at it, shared by every
    process (cooldown, migration 0008)."""

    key = CharField(max_length=400, primary_key=True)  # model@api_base, or model@api_base#<credential fp>
    failures = IntegerField(default=0)
    until = DoubleField(default=0.0)  # epoch seconds; skipped until then
    endpoint = CharField(max_length=400, default="")  # model@api_base
    credential = CharField(max_length=64, default="")  # fingerprint (never the key); "" = the whole endpoint


class Anomaly(BaseModel):
    """A provider usage claim that was not believed (see engine.budget.usage); the claim is text
    because it may not fit any integer column."""

    id = AutoField()
    ts = DoubleField(index=True)
    day = CharField(max_length=10)
    what = CharField(max_length=32)  # not_a_number | negative | zero | above_worst_case
    request_id = CharField(max_length=36, index=True)
    ledger_id = IntegerField(null=True)
    project = CharField(max_length=64, default="")
    agent = CharField(max_length=64, default="")
    provider = CharField(max_length=64, default="")
    model = CharField(max_length=128, default="")
    claimed_tokens_in = CharField(max_length=64, default="")
    claimed_tokens_out = CharField(max_length=64, default="")
    claimed_micros = CharField(max_length=80, default="")
    charged_micros = BigIntegerField(default=0)
    worst_micros = BigIntegerField(default=0)


class AllocatedLimit(BaseModel):
    """The project limit ``budget allocate --apply`` last wrote. A current limit that differs
    was set by a person: the allocator treats it as a cap."""

    project = CharField(max_length=64, primary_key=True)
    limit_micros = BigIntegerField()
    ts = DoubleField()


class ReviewVerdict(BaseModel):
    """A second provider's verdict on exact code for a task, whatever tier served it (migration 0005).

    ``key`` is sha256(task, code): a verdict never carries over to other code or another task.
    ``subject`` says where the code came from (cache key, template name) and which version."""

    id = AutoField()
    key = CharField(max_length=64, index=True)
    created = DoubleField()
    subject_kind = CharField(max_length=16)  # llm | cache | learned | builtin
    subject = CharField(max_length=200, default="")
    subject_version = IntegerField(default=0)
    author = CharField(max_length=64, default="")  # provider that wrote the code ("" for built-ins)
    verdict = CharField(max_length=12)  # approve | reject
    reviewer = CharField(max_length=64)
    model = CharField(max_length=128, default="")
    issues = TextField(default="[]")  # JSON list of strings
    cost_micros = BigIntegerField(default=0)
    request_id = CharField(max_length=36, default="")


class TemplateAnswer(BaseModel):
    """Which template version, with which bindings, answered a request (for wrong-answer feedback)."""

    request_id = CharField(max_length=36, primary_key=True)
    ts = DoubleField()
    source = CharField(max_length=16)  # learned | builtin
    template = CharField(max_length=128)  # the spec name: learned-<id> or the built-in template's name
    version = IntegerField()
    bindings = TextField()  # canonical JSON (engine.feedback.canonical_bindings)


class WrongReport(BaseModel):
    """A user's report that a template answer was wrong: a negative example for that template
    version and bindings, and the savings it reversed. At most one per request."""

    id = AutoField()
    ts = DoubleField()
    request_id = CharField(max_length=36, unique=True)
    answered = DoubleField()  # when the reported answer was served
    source = CharField(max_length=16)
    template = CharField(max_length=128)
    version = IntegerField()
    bindings_key = CharField(max_length=64)  # sha256 of the canonical bindings
    bindings = TextField()
    reason = TextField()
    project = CharField(max_length=64, default="")
    agent = CharField(max_length=64, default="")
    reversed_micros = BigIntegerField(default=0)
    retires = BooleanField(default=False)  # this report retired the template

    class Meta:
        indexes = ((("template", "version"), False),)


class TemplateAnchor(BaseModel):
    """The persisted match index of active learned templates (migration 0010).

    One row per (pattern, anchor key): the key is the pair of the pattern's two rarest required
    words ("a b", sorted), or its one required word, so a task can only match a pattern whose key
    is among the task's word pairs. ``groups`` lists the pattern's required words (groups joined
    by U+001E, alternatives by U+001F) for a cheap pre-filter before any template row is read.
    Derived data: ``engine.learning.anchors`` rebuilds it from the template tables."""

    id = AutoField()
    key = CharField(max_length=255, index=True)
    template = IntegerField(index=True)  # template.id (no foreign key: rows are rewritten by sync)
    version = IntegerField()
    groups = TextField()


class AnchorWord(BaseModel):
    """How many indexed patterns require each word (chooses the rarest anchors; migration 0010)."""

    word = CharField(max_length=255, primary_key=True)
    df = IntegerField(default=0)


class IndexMeta(BaseModel):
    """Small named values of derived indexes, e.g. which template_version the anchors reflect."""

    name = CharField(max_length=32, primary_key=True)
    value = TextField(default="")


class LedgerRollup(BaseModel):
    """Per-day ledger aggregates per dimension value (migration 0009; kept by triggers, see
    ``engine.rollups``). ``dim`` is all | project | agent | provider | model."""

    id = AutoField()
    day = CharField(max_length=10)
    dim = CharField(max_length=8)
    value = CharField(max_length=130, default="")
    source = CharField(max_length=16)
    outcome = CharField(max_length=16)
    error_class = CharField(max_length=32, default="")
    estimated = IntegerField(default=0)
    rows = BigIntegerField(default=0)
    tokens_in = BigIntegerField(default=0)
    tokens_out = BigIntegerField(default=0)
    cost_micros = BigIntegerField(default=0)
    saved_micros = BigIntegerField(default=0)

    class Meta:
        indexes = (
            (("day", "dim", "value", "source", "outcome", "error_class", "estimated"), True),
            (("dim", "day"), False),
            (("dim", "value", "source", "day", "outcome", "rows"), False),
        )  # 0013: per-template sums


class LedgerLatency(BaseModel):
    """Latency histogram of successful paid attempts per day and dimension value (migration 0009)."""

    id = AutoField()
    day = CharField(max_length=10)
    dim = CharField(max_length=8)
    value = CharField(max_length=130, default="")
    source = CharField(max_length=16)
    bucket = IntegerField()
    n = BigIntegerField(default=0)

    class Meta:
        indexes = ((("day", "dim", "value", "source", "bucket"), True), (("dim", "day"), False))


class LedgerTemplate(BaseModel):
    """All-time ledger totals per (template name, source) of the learned and built-in tiers
    (migration 0014; kept by triggers, see ``engine.template_totals``)."""

    id = AutoField()
    template = CharField(max_length=130)
    source = CharField(max_length=16)
    ok = BigIntegerField(default=0)
    rows = BigIntegerField(default=0)
    last_day = CharField(max_length=10)

    class Meta:
        indexes = ((("template", "source"), True),)


class ValidationMemo(BaseModel):
    """A validation report by (validator fingerprint, file name, policy, code hash): a cache hit in a
    new process need not load Bandit (migration 0010; see ``engine.validation_memo``)."""

    key = CharField(max_length=64, primary_key=True)
    report = TextField()
    created = DoubleField(index=True)


ALL_MODELS = (
    LedgerEntry,
    BudgetCounter,
    Reservation,
    CacheEntry,
    AlertEvent,
    Template,
    TemplateVersion,
    TemplateAlias,
    Suggestion,
    ProviderHealth,
    Anomaly,
    AllocatedLimit,
    ReviewVerdict,
    TemplateAnswer,
    WrongReport,
    LedgerRollup,
    LedgerLatency,
    LedgerTemplate,
    TemplateAnchor,
    AnchorWord,
    IndexMeta,
    ValidationMemo,
)
