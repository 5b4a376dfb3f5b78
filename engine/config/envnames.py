"""Which environment variables can hold an API key.

Invariant: ``api_key_env`` never names a variable the system or Templar itself uses
(``PATH``, ``HOME``, ``LD_PRELOAD``, ``TEMPLAR_HOME`` ...): its value is not a key, and sending
it to a provider as one would leak the machine's setup. Such a name is refused with a message
that says why.
"""

from __future__ import annotations

SYSTEM_VARIABLES = frozenset(
    {
        "PATH",
        "HOME",
        "USER",
        "LOGNAME",
        "SHELL",
        "PWD",
        "OLDPWD",
        "SHLVL",
        "TERM",
        "LANG",
        "LANGUAGE",
        "TZ",
        "TMPDIR",
        "TEMP",
        "TMP",
        "HOSTNAME",
        "HOSTTYPE",
        "MAIL",
        "EDITOR",
        "VISUAL",
        "PAGER",
        "DISPLAY",
        "COLUMNS",
        "LINES",
        "PS1",
        "PS2",
        "IFS",
        "MANPATH",
        "INFOPATH",
        "PYTHONPATH",
        "PYTHONHOME",
        "VIRTUAL_ENV",
        "CONDA_PREFIX",
        "SSH_AUTH_SOCK",
        "SSH_AGENT_PID",
        "SSH_CONNECTION",
        "SSH_CLIENT",
        "SSH_TTY",
        "DBUS_SESSION_BUS_ADDRESS",
        "CI",
        "_",
        "SUDO_USER",
        "SUDO_UID",
        "SUDO_GID",
        "SUDO_COMMAND",
        "USERPROFILE",
        "APPDATA",
        "LOCALAPPDATA",
        "PROGRAMFILES",
        "SYSTEMROOT",
        "WINDIR",
        "COMSPEC",
        "PATHEXT",
        "OS",
        "PROCESSOR_ARCHITECTURE",
    }
)
SYSTEM_PREFIXES = ("LC_", "XDG_", "LD_", "DYLD_", "TEMPLAR_", "PYTHON", "LITELLM_", "BASH_", "GIT_", "NPM_CONFIG_")


def not_a_key_variable(name: str) -> str | None:
    """Why ``name`` cannot be an API key variable, or None when it can."""
    upper = name.upper()
    if upper in SYSTEM_VARIABLES or upper.startswith(SYSTEM_PREFIXES):
        return (
            f"{name} is a system variable, not an API key: name the variable that holds the key "
            "(like OPENAI_API_KEY), or leave it empty for a keyless local server"
        )
    return None
