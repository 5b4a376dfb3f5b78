"""Which tasks are critical: the default ``[critical.rules]`` against a table of wordings.

The table was written before the rules. Decisions it records:
- "token" is critical only as a credential (access/refresh/bearer/CSRF/API/session/reset/JWT
  tokens, or a token that is verified, revoked, expires or is signed); NLP tokens and
  tokenizers are not.
- "signature" is critical except a function/method/type signature; the sign of a number is not.
- deleting or removing *files, directories, folders or backups* is critical; removing items
  from a list, keys from a dict, or a file *extension* from a name is not.
- "shell" is critical except "shell sort"; "eval"/"exec" and subprocesses are shell-like.
- payments, cards, billing and refunds are critical; an "Invoice" dataclass is not.
- pickle/marshal/YAML loading and any "deserialise" are critical; JSON parsing alone is not.
- the rules over-include rather than miss: a false positive costs one review, a miss serves
  unreviewed code to sensitive work.
"""

from __future__ import annotations

import pytest

from engine.config import load_config
from engine.config.schema import CriticalRule, Settings
from engine.critical import critical_reasons, decide_critical

CRITICAL = [
    ("login form handler that checks a username and password", "password"),
    ("hash a password with bcrypt", "password"),
    ("function to verify a user's passphrase", "password"),
    ("implement OAuth2 authorization code flow", "auth"),
    ("flask decorator that requires authentication", "auth"),
    ("role-based access control check for an admin route", "auth"),
    ("sign in with single sign-on via SAML", "auth"),
    ("generate a JWT for a user id", "token"),
    ("refresh an expired access token", "token"),
    ("CSRF token middleware", "token"),
    ("store the API key in the keyring", "secret"),
    ("read secrets from a .env file", "secret"),
    ("load the private key from a PEM file", "secret"),
    ("encrypt a file with AES-GCM", "crypto"),
    ("decrypt messages with RSA", "crypto"),
    ("compute an HMAC of the request body", "crypto"),
    ("sha256 checksum of a downloaded file", "crypto"),
    ("verify the signature of a webhook payload", "signature"),
    ("sign a message with ed25519", "signature"),
    ("run a SQL query that finds users by email", "sql"),
    ("sqlite3 repository for orders", "sql"),
    ("build a postgres query from user filters", "sql"),
    ("run a shell command and return its output", "shell"),
    ("call subprocess to compress a folder", "shell"),
    ("evaluate a python expression typed by the user with eval", "shell"),
    ("bash script wrapper that restarts a service", "shell"),
    ("delete all files older than 7 days in a directory", "delete_files"),
    ("remove a directory tree recursively", "delete_files"),
    ("clean up the temp folder", "delete_files"),
    ("wipe old backups", "delete_files"),
    ("charge a customer's credit card with Stripe", "payment"),
    ("process a payment and issue a refund", "payment"),
    ("validate an IBAN before a bank transfer", "payment"),
    ("load a pickle file sent by a client", "deserialisation"),
    ("deserialize user objects from bytes", "deserialisation"),
    ("load a YAML config file", "deserialisation"),
    ("unmarshal data with the marshal module", "deserialisation"),
]

NOT_CRITICAL = [
    "tokenize a sentence into words",
    "count the tokens in a paragraph with a regex",
    "a tokenizer for arithmetic expressions",
    "print the signature of a function with inspect",
    "type signature of a callback as a Protocol",
    "return the sign of a number",
    "remove duplicates from a list",
    "delete a node from a binary search tree",
    "remove whitespace from both ends of a string",
    "clear the screen and redraw the menu",
    "delete a key from a dict if present",
    "remove the file extension from a filename",
    "shell sort of a list of integers",
    "dataclass Invoice with fields number: int, total: float",
    "parse a JSON string into a dict",
    "hash table with open addressing",
    "evaluate a polynomial at x",
    "a constant MAX_RETRIES set to 5",
    "binary search in a sorted list",
    "retry decorator with 5 attempts",
    "enum Color with members red, green and blue",
    "argparse CLI with a --verbose flag",
    "nosql-style in-memory document store",
]


@pytest.fixture(scope="module")
def settings() -> Settings:
    return Settings()


@pytest.mark.parametrize(("task", "rule"), CRITICAL)
def test_critical_wordings_match_the_expected_rule(settings: Settings, task: str, rule: str) -> None:
    reasons = critical_reasons(settings.critical, task)
    assert rule in [r.rule for r in reasons], (task, reasons)


@pytest.mark.parametrize("task", NOT_CRITICAL)
def test_near_misses_are_not_critical(settings: Settings, task: str) -> None:
    assert critical_reasons(settings.critical, task) == ()


def test_the_request_flag_and_the_setting_force_critical_and_false_never_downgrades(settings: Settings) -> None:
    assert decide_critical(settings, "binary search in a sorted list", None).critical is False
    assert decide_critical(settings, "binary search in a sorted list", True).source == "request"
    assert decide_critical(settings, "hash a password with bcrypt", False).critical is True
    forced = settings.model_copy(update={"validation": settings.validation.model_copy(update={"critical": True})})
    assert decide_critical(forced, "binary search in a sorted list", None).source == "setting"


def test_rules_cascade_with_provenance_and_a_project_can_add_or_disable_one(paths) -> None:
    project = paths.project_file("acme")
    project.parent.mkdir(parents=True, exist_ok=True)
    project.write_text(
        '[critical.rules.pii]\npattern = "\\\\b(?:ssn|social security)\\\\b"\ndescription = "personal data"\n\n'
        "[critical.rules.sql]\nenabled = false\n\n"
        "[agents.bot.critical]\ninfer = false\n",
        encoding="utf-8",
    )
    resolved = load_config(paths, "acme")
    assert resolved.origin(("critical", "rules", "pii", "pattern")).level == "project"
    assert resolved.origin(("critical", "rules", "sql", "enabled")).level == "project"
    assert resolved.origin(("critical", "rules", "password", "pattern")).level == "system"
    rules = resolved.settings.critical
    assert [r.rule for r in critical_reasons(rules, "mask a social security number")] == ["pii"]
    assert critical_reasons(rules, "run a SQL query that finds users by email") == ()
    assert critical_reasons(rules, "hash a password with bcrypt") != ()
    agent = load_config(paths, "acme", "bot").settings
    assert decide_critical(agent, "hash a password with bcrypt", None).critical is False


def test_a_bad_rule_pattern_is_a_config_error(paths) -> None:
    from engine.errors import ConfigError

    project = paths.project_file("bad")
    project.parent.mkdir(parents=True, exist_ok=True)
    project.write_text('[critical.rules.broken]\npattern = "(unclosed"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(paths, "bad")
    assert "critical.rules.broken" in str(info.value)


def test_the_settings_files_carry_exactly_the_built_in_rules() -> None:
    import tomllib
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    defaults = Settings().critical.model_dump()
    for path in (root / "settings.toml", root / "engine" / "config" / "settings.toml"):
        data = tomllib.loads(path.read_text(encoding="utf-8"))["critical"]
        rules = {name: CriticalRule(**rule).model_dump() for name, rule in data["rules"].items()}
        assert rules == defaults["rules"] and data["infer"] == defaults["infer"], path
