"""The ``[critical]`` settings: which tasks are critical work, inferred from their wording.

A critical request is answered only by code with an approving review on record (see
``engine.critical``). Each rule is a named, case-insensitive regular expression searched in the
cleaned task; rules are a table of tables, so they cascade key by key like every other setting:
a project adds ``[critical.rules.pii]``, turns one off with ``[critical.rules.sql] enabled =
false``, and ``templar config explain critical.rules`` shows who set what.

Invariant: the defaults here and the ``[critical.rules.*]`` tables in settings.toml (the system
level) are the same; a test compares them. The rules over-include on purpose: a false positive
costs one review, a miss would serve unreviewed code to sensitive work.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator

# name -> (pattern, description). Wordings they must and must not match: tests/engine/test_critical_rules.py
DEFAULT_RULES: dict[str, tuple[str, str]] = {
    "auth": (
        r"\b(?:auth|authn|authz|authenticat\w*|authori[sz]\w*|log ?in|sign[ -]?in|sign[ -]?on|sso|oauth\w*|openid|saml|permissions?|access control|rbac|acl)\b",
        "authentication, login, authorisation, access control",
    ),
    "password": (
        r"\b(?:passwords?|passwd|passphrases?|passcodes?|credentials?)\b",
        "passwords and credentials",
    ),
    "token": (
        r"\b(?:access|refresh|bearer|auth\w*|csrf|xsrf|session|reset|api|security|secure|verification|one[ -]time|otp|id)[ _-]?tokens?\b|\bjwts?\b|\btokens?\b(?=[\w ]{0,30}\b(?:expir\w*|revok\w*|revoc\w*|verif\w*|sign\w*|login|users?)\b)",
        "credential tokens (not NLP tokens)",
    ),
    "secret": (
        r"\b(?:secrets?|private[ _-]?keys?|api[ _-]?keys?|keyrings?|vault|\.env|dotenv|ssh[ _-]?keys?)(?!\w)",
        "secrets and keys",
    ),
    "crypto": (
        r"\b(?:crypto\w*|encrypt\w*|decrypt\w*|ciphers?|hmac|aes(?:-\w+)?|rsa|ecdsa|ed25519|sha-?\d+|md5|bcrypt|scrypt|argon2\w*|pbkdf2\w*|nonces?|salted|tls|ssl|x\.?509|certificates?|csprng|random (?:password|key|salt))\b",
        "cryptography",
    ),
    "signature": (
        r"(?<!function )(?<!method )(?<!type )(?<!call )\bsignatures?\b(?! of (?:a |an |the )?(?:function|method|callable|callback|class))|\bsign(?:s|ing|ed)? (?:a |an |the )?(?:message|payload|request|token|document|data|file|webhook|commit|jwt|url)s?\b",
        "signatures (not function signatures)",
    ),
    "sql": (
        r"\b(?:sql|sqlite\d?|postgres\w*|mysql|mariadb|psycopg\d?|sqlalchemy)\b|\b(?:select|insert|update|delete)\b.{0,40}\b(?:from|into|where)\b.{0,40}\btable\b|\bquery (?:the |a )?database\b",
        "SQL and databases",
    ),
    "shell": (
        r"\bshell\b(?! ?sort)|\b(?:bash|zsh|powershell|subprocess\w*|popen|os\.system|eval|exec|execv\w*)\b|\b(?:run|execute|spawn|invoke)s? (?:a |an |the )?(?:system |shell |external |os |terminal )?(?:commands?|process(?:es)?|programs?)\b",
        "shell commands, subprocesses, eval/exec",
    ),
    "delete_files": (
        r"\b(?:delete|deletes|deleting|remove|removes|removing|erase|wipe|wipes|purge|purges|unlink|rm|rmtree|clean(?:s|ing)? ?up|clear)\b[^.;]{0,40}?\b(?:files?(?![ _-]?(?:names?|extensions?|suffix(?:es)?|types?))|director(?:y|ies)|folders?|dirs?|backups?)\b|\brm -r|\brmtree\b|\bos\.(?:remove|unlink)\b",
        "deleting or removing files",
    ),
    "payment": (
        r"\b(?:payments?|pay(?:ing)? (?:a |an |the )?(?:user|customer|merchant|bill|invoice)s?|payouts?|billing|credit[ -]?cards?|debit[ -]?cards?|card numbers?|cvv|stripe|paypal|braintree|refunds?|iban|bank (?:accounts?|transfers?)|money transfers?|wire transfers?|charg(?:e|es|ing) (?:a |an |the )?(?:card|customer|user)s?)\b",
        "payments and money movement",
    ),
    "deserialisation": (
        r"\b(?:pickl\w*|unpickl\w*|deseriali[sz]\w*|unmarshal\w*|marshal|shelve|dill|jsonpickle|yaml|yml)\b",
        "deserialising untrusted data",
    ),
}


class CriticalRule(BaseModel):
    """One named rule: a task matching ``pattern`` (case-insensitive regex) is critical."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)

    pattern: str = Field(description="Case-insensitive regular expression searched in the task text.")
    description: str = Field(default="", description="What the rule is about (shown as the reason).")
    enabled: bool = Field(default=True, description="false turns this rule off at this level and below.")

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the pattern is empty")
        try:
            re.compile(value, re.IGNORECASE)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression: {exc}") from None
        return value


def _default_rules() -> dict[str, CriticalRule]:
    return {name: CriticalRule(pattern=p, description=d) for name, (p, d) in DEFAULT_RULES.items()}


class CriticalSettings(BaseModel):
    """Critical work: inferred from the task by rules, or forced (``validation.critical``, ``--critical``)."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)

    infer: bool = Field(default=True, description="Infer criticality from the task with [critical.rules.*].")
    rules: dict[str, CriticalRule] = Field(
        default_factory=_default_rules,
        description="Named rules; a task matching any enabled one is critical.",
    )
