"""Templar's AST security rules: their stable ids (``TPL1xx``), default severities, titles and
fix hints, and the hints Templar adds to Bandit's findings (Bandit gives none).

A policy's ``severity_overrides`` can name these ids like Bandit ids. What each rule matches is
in :mod:`engine.validation.ast_tables` and the ``ast_*`` checkers.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    """One AST rule: id, default severity, what it is about, and how to fix it.

    ``bandit_equivalents``: Bandit tests that report the SAME thing for a direct call; when one
    of them fires on the same line, Bandit's finding (and its severity policy) stands and the
    rule does not repeat it. Bandit's weaker guesses (B603/B606/B604, low B324/B311) are not
    equivalents: the rule adds what Bandit could not know.
    """

    rule_id: str
    severity: str
    title: str
    hint: str
    bandit_equivalents: frozenset[str] = frozenset()


def _rule(rule_id: str, severity: str, title: str, hint: str, *bandit: str) -> Rule:
    return Rule(rule_id, severity, title, hint, frozenset(bandit))


RULES: dict[str, Rule] = {
    r.rule_id: r
    for r in (
        _rule(
            "TPL101",
            "high",
            "shell command",
            "Do not run a shell: call the program with subprocess.run([program, arg, ...]) and a "
            "constant program name, or use a Python library for the job.",
            "B605",
            "B609",
        ),
        _rule(
            "TPL102",
            "high",
            "shell or interpreter in an argument list",
            'Run the program directly (subprocess.run(["prog", arg])), not through sh -c/bash -c '
            "or shell=True; never pass untrusted text to a shell or interpreter.",
            "B602",
        ),
        _rule(
            "TPL103",
            "high",
            "process replacement or spawn",
            "Use subprocess.run with a constant argument list (no shell) instead of "
            "os.exec*/os.spawn*/os.posix_spawn/pty.spawn.",
        ),
        _rule(
            "TPL104",
            "medium",
            "process started with a command that is not constant",
            "Start processes with a literal argument list whose program is a constant "
            '(e.g. ["git", "status"]); validate or allow-list anything variable.',
        ),
        _rule(
            "TPL105",
            "high",
            "reverse shell",
            "Never connect a socket to a process's stdin/stdout or to file descriptors 0-2; "
            "expose a narrow, authenticated API instead.",
        ),
        _rule(
            "TPL106",
            "high",
            "attribute of a dangerous module chosen at run time",
            "Call the function you need by name (e.g. os.path.join); never pick a member of "
            "os/subprocess/builtins/ctypes from a variable.",
        ),
        _rule(
            "TPL107",
            "high",
            "interpreter internals",
            "Do not reach into frames, function globals or object.__subclasses__(); pass what "
            "the code needs as arguments.",
        ),
        _rule(
            "TPL110",
            "high",
            "dynamic code execution",
            "Do not execute code built at run time: parse data with json/ast.literal_eval, and "
            "dispatch through an explicit dict of allowed functions.",
            "B102",
            "B307",
        ),
        _rule(
            "TPL120",
            "high",
            "native code loading",
            "Avoid ctypes/cffi library loading in generated code; use a Python API (os, "
            "shutil, resource) for the task.",
        ),
        _rule(
            "TPL130",
            "high",
            "unsafe deserialisation",
            "Deserialise untrusted data with json or yaml.safe_load; pickle/marshal/shelve/dill "
            "can run code while loading.",
            "B301",
            "B302",
            "B506",
            "B614",
        ),
        _rule(
            "TPL140",
            "high",
            "destructive operation on a broad target",
            "Delete only paths your code created (e.g. a tempfile.mkdtemp() directory) or "
            "an explicit argument; never the home, root or working directory as a whole.",
        ),
        _rule(
            "TPL141",
            "high",
            "signal to every process",
            "Signal a specific child pid you started, never -1 or 0 (every process / the group).",
        ),
        _rule(
            "TPL150",
            "high",
            "credential or environment dump sent over the network",
            "Do not read credential files (~/.ssh, ~/.aws, .netrc, keychains, /etc/shadow) or dump "
            "os.environ in code that talks to the network; read only the one setting you need.",
        ),
        _rule(
            "TPL151",
            "low",
            "credential file access",
            "Read credentials through the official SDK or an explicit, documented setting "
            "instead of opening credential files directly.",
        ),
        _rule(
            "TPL152",
            "high",
            "write to a startup, scheduler or account file",
            "Do not modify shell startup files, authorized_keys, cron, sudoers or system account "
            "files from generated code; document the manual step instead.",
        ),
        _rule(
            "TPL160",
            "medium",
            "weak hash for a secret",
            "Hash passwords with hashlib.scrypt/pbkdf2_hmac (or argon2/bcrypt) and sign with "
            "HMAC-SHA256; md5/sha1 are only for non-security checksums (usedforsecurity=False).",
        ),
        _rule(
            "TPL161",
            "medium",
            "predictable randomness for a secret",
            "Generate passwords, tokens and codes with the secrets module (secrets.token_urlsafe, "
            "secrets.choice, secrets.randbelow), not random or uuid1.",
        ),
        _rule(
            "TPL170",
            "high",
            "TLS verification disabled",
            "Keep certificate verification on (verify=True, ssl.create_default_context()); "
            'trust a private CA with verify="/path/ca.pem" instead.',
            "B501",
            "B323",
            "B502",
            "B503",
            "B504",
        ),
    )
}

# -- what the rules match ------------------------------------------------------------------


#: Hints for Bandit findings (Bandit gives none).
BANDIT_HINTS = {
    "B102": RULES["TPL110"].hint,
    "B307": RULES["TPL110"].hint,
    "B301": RULES["TPL130"].hint,
    "B302": RULES["TPL130"].hint,
    "B506": RULES["TPL130"].hint,
    "B602": RULES["TPL102"].hint,
    "B605": RULES["TPL101"].hint,
    "B604": RULES["TPL102"].hint,
    "B606": RULES["TPL103"].hint,
    "B603": "Make sure the command is a constant list you control.",
    "B607": "Call the program by its full path, or resolve it with shutil.which() first.",
    "B105": "Read credentials from the environment or a secrets manager, never from the code.",
    "B106": "Read credentials from the environment or a secrets manager, never from the code.",
    "B107": "Read credentials from the environment or a secrets manager, never from the code.",
    "B608": "Use parameterised queries (cursor.execute(sql, params)) instead of building SQL text.",
    "B501": RULES["TPL170"].hint,
    "B502": "Use ssl.create_default_context() (TLS 1.2+).",
    "B323": RULES["TPL170"].hint,
    "B324": RULES["TPL160"].hint,
    "B303": RULES["TPL160"].hint,
    "B311": RULES["TPL161"].hint,
    "B113": "Pass timeout= to every requests call.",
    "B202": "Extract with tarfile's filter=\"data\" (or check each member's path) to stay in the target.",
    "B103": "Give files the narrowest permissions that work (e.g. 0o600 or 0o644).",
    "B104": "Bind to 127.0.0.1 unless the service must be reachable from other hosts.",
    "B108": "Use tempfile.mkstemp()/TemporaryDirectory() instead of fixed /tmp paths.",
    "B306": "Use tempfile.mkstemp() or NamedTemporaryFile(); mktemp() is racy.",
    "B310": "Check that the URL scheme is http(s) before calling urlopen.",
    "B507": "Load known host keys (client.load_system_host_keys()) and reject unknown hosts.",
    "B701": "Create the Jinja2 Environment with autoescape=select_autoescape().",
    "B101": "Raise an exception for checks that must hold at run time; assert is skipped under -O.",
    "B110": "Log or narrow the exception instead of silently passing.",
    "B321": "Use SFTP or FTPS (encrypted) instead of plain FTP.",
    "B402": "Use SFTP or FTPS (encrypted) instead of plain FTP.",
    "B401": "Use SSH instead of telnet.",
    "B312": "Use SSH instead of telnet.",
    "B404": "",
    "B403": "",
}
