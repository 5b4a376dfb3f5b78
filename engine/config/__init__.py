"""Configuration: typed settings, the system -> project -> agent cascade, provenance, files."""

from engine.config.cascade import (
    LEVELS,
    Origin,
    ResolvedConfig,
    list_agents,
    list_projects,
    load_config,
    system_settings_file,
)
from engine.config.files import export_project, import_project, looks_like_secret, set_value, trust_project, unset_value
from engine.config.schema import ProviderSettings, Settings

__all__ = [
    "LEVELS",
    "Origin",
    "ProviderSettings",
    "ResolvedConfig",
    "Settings",
    "export_project",
    "import_project",
    "list_agents",
    "list_projects",
    "load_config",
    "looks_like_secret",
    "set_value",
    "system_settings_file",
    "trust_project",
    "unset_value",
]
