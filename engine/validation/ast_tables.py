"""What Templar's AST security rules match: the names, programs, modules and markers each
checker looks for (the rules themselves, ids and hints: :mod:`engine.validation.ast_rule_catalog`).

Rule ids are stable (``TPL1xx``); a policy's ``severity_overrides`` can name them like Bandit
ids. Qualified names are as :mod:`engine.validation.ast_names` resolves them.
"""

from engine.validation.ast_rule_catalog import BANDIT_HINTS as BANDIT_HINTS
from engine.validation.ast_rule_catalog import RULES as RULES
from engine.validation.ast_rule_catalog import Rule as Rule

SHELL_CALLS = frozenset(
    {
        "os.system",
        "os.popen",
        "os.popen2",
        "os.popen3",
        "os.popen4",
        "subprocess.getoutput",
        "subprocess.getstatusoutput",
        "asyncio.create_subprocess_shell",
        "commands.getoutput",
        "commands.getstatusoutput",
        "platform.popen",
        "popen2.popen2",
        "popen2.popen3",
        "popen2.popen4",
    }
)
SPAWN_CALLS = frozenset(
    {f"os.exec{s}" for s in ("l", "le", "lp", "lpe", "v", "ve", "vp", "vpe")}
    | {f"os.spawn{s}" for s in ("l", "le", "lp", "lpe", "v", "ve", "vp", "vpe")}
    | {"os.posix_spawn", "os.posix_spawnp", "os.startfile", "pty.spawn", "os.forkpty", "pty.fork"}
)
#: Calls whose first argument (or first positional for *_exec) is the command.
SUBPROCESS_CALLS = frozenset(
    {
        "subprocess.run",
        "subprocess.call",
        "subprocess.check_call",
        "subprocess.check_output",
        "subprocess.Popen",
        "asyncio.create_subprocess_exec",
    }
)
#: Programs that run their arguments as code (with -c/-e/...) or as an interactive shell.
SHELL_PROGRAMS = frozenset(
    {
        "sh",
        "bash",
        "zsh",
        "dash",
        "ksh",
        "csh",
        "tcsh",
        "fish",
        "ash",
        "busybox",
        "cmd",
        "cmd.exe",
        "powershell",
        "powershell.exe",
        "pwsh",
        "script",
        "expect",
        "nc",
        "ncat",
        "netcat",
        "socat",
    }
)
INTERPRETERS = frozenset({"python", "python2", "python3", "perl", "ruby", "node", "php", "lua", "osascript"})
INTERPRETER_CODE_FLAGS = frozenset({"-c", "-e", "-E", "-r", "--eval", "-Command", "/c", "/C"})
#: Expressions accepted as a constant program.
SAFE_PROGRAM_EXPRS = frozenset({"sys.executable"})
#: Programs that delete what their arguments name (TPL140 when an argument is broad).
DELETE_PROGRAMS = frozenset({"rm", "rmdir", "shred", "unlink", "srm", "del", "rd"})
#: Programs that wipe or repartition disks (always TPL140).
DISK_PROGRAMS = frozenset({"wipefs", "fdisk", "sfdisk", "parted", "sgdisk", "blkdiscard"})
#: Programs that print the whole environment (an environment dump).
ENV_DUMP_PROGRAMS = frozenset({"printenv"})
#: Modules whose members must not be picked by a run-time name (TPL106).
DANGEROUS_MODULES = frozenset(
    {
        "os",
        "subprocess",
        "builtins",
        "ctypes",
        "pty",
        "shutil",
        "pickle",
        "marshal",
        "importlib",
        "posix",
        "nt",
        "asyncio.subprocess",
    }
)
#: Attributes that reach interpreter internals (TPL107); __subclasses__ only after __base__/__mro__.
INTERNAL_ATTRIBUTES = frozenset(
    {"__globals__", "f_globals", "f_builtins", "f_locals", "gi_frame", "cr_frame", "tb_frame", "f_back", "func_globals"}
)

DYNAMIC_CODE = frozenset(
    {
        "builtins.eval",
        "builtins.exec",
        "builtins.compile",
        "runpy.run_path",
        "runpy.run_module",
        "code.InteractiveInterpreter",
        "code.InteractiveConsole",
        "code.interact",
        "code.compile_command",
        "codeop.compile_command",
        "types.FunctionType",
        "types.CodeType",
        "importlib.machinery.SourceFileLoader",
        "importlib.machinery.SourcelessFileLoader",
        "imp.load_source",
        "imp.load_compiled",
        "imp.load_module",
    }
)
NATIVE_PREFIXES = (
    "ctypes.CDLL",
    "ctypes.PyDLL",
    "ctypes.WinDLL",
    "ctypes.OleDLL",
    "ctypes.cdll",
    "ctypes.pydll",
    "ctypes.windll",
    "ctypes.oledll",
    "ctypes.pythonapi",
    "ctypes.LibraryLoader",
    "ctypes.memmove",
    "ctypes.memset",
    "ctypes.string_at",
    "ctypes.util.find_library",
    "_ctypes.",
    "cffi.FFI().dlopen",
    "cffi.FFI().verify",
    "cffi.FFI().compile",
    "cffi.FFI().set_source",
)
DESERIALISE = frozenset(
    {
        "marshal.loads",
        "marshal.load",
        "shelve.open",
        "shelve.Shelf",
        "shelve.DbfilenameShelf",
        "yaml.unsafe_load",
        "yaml.unsafe_load_all",
        "pickle.load",
        "pickle.loads",
        "pickle.Unpickler",
        "dill.load",
        "dill.loads",
        "cloudpickle.load",
        "cloudpickle.loads",
        "jsonpickle.decode",
        "pandas.read_pickle",
        "joblib.load",
        "numpy.load().item",
        "shelve.BsdDbShelf",
    }
)
YAML_LOADERS_SAFE = frozenset({"yaml.SafeLoader", "yaml.CSafeLoader", "yaml.BaseLoader", "yaml.CBaseLoader"})

DELETE_CALLS = frozenset(
    {"shutil.rmtree", "os.remove", "os.unlink", "os.rmdir", "os.removedirs", "shutil.move", "os.truncate"}
)
DELETE_METHODS = frozenset({"unlink", "rmdir", "rmtree", "remove"})
BROAD_STRINGS = frozenset(
    {
        "/",
        "~",
        "~/",
        ".",
        "./",
        "*",
        "/*",
        "./*",
        "**",
        "**/*",
        "*.*",
        "/home",
        "/Users",
        "/etc",
        "/usr",
        "/var",
        "/bin",
        "/boot",
        "/root",
        "C:\\",
        "C:/",
        "$HOME",
        "${HOME}",
        "%USERPROFILE%",
    }
)
BROAD_VALUES = frozenset(
    {
        "pathlib.Path.home()",
        "pathlib.Path.cwd()",
        "os.getcwd()",
        "os.getcwdb()",
        "os.sep",
        "os.path.sep",
        "os.curdir",
        "os.path.curdir",
    }
)
HOME_VARIABLES = frozenset({"HOME", "USERPROFILE", "PWD", "HOMEPATH", "SYSTEMROOT"})
#: Calls that keep a path broad when their argument is broad.
PATH_WRAPPERS = frozenset(
    {
        "os.path.expanduser",
        "os.path.expandvars",
        "os.path.abspath",
        "os.path.realpath",
        "os.path.normpath",
        "pathlib.Path",
        "pathlib.PurePath",
        "pathlib.PosixPath",
        "builtins.str",
        "os.fspath",
        "os.path.join",
    }
)
PATH_METHODS = frozenset({"expanduser", "resolve", "absolute", "expandvars", "as_posix", "__fspath__", "__str__"})
LISTING_CALLS = frozenset({"glob.glob", "glob.iglob", "os.listdir", "os.scandir", "os.walk"})
LISTING_METHODS = frozenset({"glob", "rglob", "iterdir", "walk"})

#: Substrings of string constants that name credential stores (matched case-insensitively).
CREDENTIAL_MARKERS = (
    ".ssh",
    ".aws",
    ".netrc",
    "_netrc",
    "/etc/shadow",
    "/etc/gshadow",
    "/etc/master.passwd",
    ".git-credentials",
    ".pypirc",
    ".npmrc",
    ".docker",
    ".kube",
    ".gnupg",
    "id_rsa",
    "id_ed25519",
    "id_ecdsa",
    "id_dsa",
    "keychain",
    "find-generic-password",
    "find-internet-password",
    "/proc/self/environ",
    "/environ",
    ".boto",
    ".s3cfg",
    ".vault-token",
    "wallet.dat",
    ".password-store",
    "gcloud/credentials",
    "application_default_credentials",
    ".azure",
    "login data",
    "key4.db",
    "logins.json",
    "keyring",
)
#: Files under ~/.ssh that are not secrets.
SSH_PUBLIC_FILES = frozenset({"known_hosts", "known_hosts.old", "config"})
#: Files under ~/.aws that hold no secret (profiles and regions).
AWS_PUBLIC_FILES = frozenset({"config"})
#: Environment variables that switch TLS verification off when set to these values.
TLS_OFF_VARIABLES = {
    "PYTHONHTTPSVERIFY": {"0"},
    "CURL_CA_BUNDLE": {""},
    "REQUESTS_CA_BUNDLE": {""},
    "NODE_TLS_REJECT_UNAUTHORIZED": {"0"},
    "GIT_SSL_NO_VERIFY": {"1", "true"},
    "SSL_CERT_FILE": {""},
}
#: Keyword arguments and methods that hand a key file to an SSH client (using it, not leaking it).
KEY_FILE_KEYWORDS = frozenset({"key_filename", "identity_file", "client_keys", "ssh_key_path"})
KEY_FILE_METHODS = frozenset({"from_private_key_file", "load_host_keys", "load_system_host_keys"})
#: Whole string constants that name credential stores (browser cookie and password DBs).
CREDENTIAL_NAMES = frozenset({"cookies", "login data", "web data", "cookies.sqlite"})
EGRESS_MODULES = frozenset(
    {
        "socket",
        "urllib.request",
        "urllib3",
        "http.client",
        "requests",
        "httpx",
        "aiohttp",
        "smtplib",
        "ftplib",
        "telnetlib",
        "paramiko",
        "websocket",
        "websockets",
        "xmlrpc.client",
        "pycurl",
        "asyncssh",
        "grpc",
        "dns.resolver",
        "asyncio.open_connection",
        "boto3",
        "botocore",
        "google.cloud",
        "azure.storage",
        "dropbox",
        "ftputil",
        "pysftp",
    }
)
#: os.environ uses that read one variable (everything else counts as dumping the environment).
ENVIRON_SINGLE_READS = frozenset({"get", "setdefault", "pop", "__getitem__", "__contains__"})

PERSISTENCE_MARKERS = (
    "authorized_keys",
    ".bashrc",
    ".bash_profile",
    ".bash_login",
    ".zshrc",
    ".zprofile",
    ".profile",
    "/etc/cron",
    "crontab",
    "/var/spool/cron",
    "/etc/sudoers",
    "/etc/passwd",
    "/etc/shadow",
    "/etc/rc.local",
    "/etc/systemd/system",
    "launchagents",
    "launchdaemons",
    "/etc/ld.so.preload",
    ".config/autostart",
    "/etc/profile",
    "/etc/hosts",
    "sitecustomize.py",
)
WRITE_METHODS = frozenset({"write_text", "write_bytes"})
#: Programs that install scheduled jobs (persistence) unless only listing them.
SCHEDULER_PROGRAMS = frozenset({"crontab", "schtasks", "at", "launchctl"})

WEAK_HASHES = frozenset(
    {
        "hashlib.md5",
        "hashlib.sha1",
        "hashlib.md4",
        "Crypto.Hash.MD5.new",
        "Crypto.Hash.SHA1.new",
        "cryptography.hazmat.primitives.hashes.MD5",
        "cryptography.hazmat.primitives.hashes.SHA1",
    }
)
WEAK_HASH_NAMES = frozenset({"md5", "sha1", "md4", "sha-1", "md-5"})
INSECURE_RANDOM = frozenset(
    {
        "random.random",
        "random.randint",
        "random.randrange",
        "random.choice",
        "random.choices",
        "random.sample",
        "random.shuffle",
        "random.getrandbits",
        "random.uniform",
        "random.randbytes",
        "random.Random().random",
        "random.Random().randint",
        "random.Random().choice",
        "random.Random().choices",
        "random.Random().getrandbits",
        "random.Random().randrange",
        "uuid.uuid1",
        "numpy.random.randint",
        "numpy.random.choice",
    }
)
#: Words (of identifiers split on _ and case) that make a value a secret.
SECRET_WORDS = frozenset(
    {
        "password",
        "passwords",
        "passwd",
        "passphrase",
        "pwd",
        "token",
        "secret",
        "otp",
        "totp",
        "hotp",
        "pin",
        "credential",
        "credentials",
        "session",
        "salt",
        "nonce",
        "apikey",
        "csrf",
        "signature",
        "sign",
        "signed",
        "auth",
        "login",
        "reset",
        "verification",
        "cookie",
        "hmac",
        "privkey",
        "private",
        "keygen",
        "privatekey",
        "accesskey",
        "secretkey",
        "authkey",
        "signingkey",
        "sessionid",
        "sessid",
        "pw",
        "pass",
        "passcode",
        "creds",
        "cred",
    }
)
