"""runwatch's configuration: its own config.toml, the abeja CLI's `~/.abeja/config`, the
environment, and the effective `Settings` resolved from them (see `settings.py` for the order).

Imports only the standard library and platformdirs: the CLI imports this package to print
`runwatch config` without loading httpx.
"""

from __future__ import annotations

from runwatch.config.files import (
    APP_NAME,
    DEFAULT_API_URL,
    SECRET_FIELDS,
    ConfigError,
    ConfigFile,
    Profile,
    _profile_from_table,
    config_path,
    dump_config,
    engine_data_dir,
    load_config,
    log_dir,
    looks_secret,
    mask_secret,
    read_engine_env,
    save_config,
    save_profile,
    state_dir,
)
from runwatch.config.settings import LOCAL_SOURCE, ApiSource, Settings, resolve_settings

__all__ = [
    "APP_NAME",
    "DEFAULT_API_URL",
    "LOCAL_SOURCE",
    "SECRET_FIELDS",
    "ApiSource",
    "ConfigError",
    "ConfigFile",
    "Profile",
    "Settings",
    "_profile_from_table",
    "config_path",
    "dump_config",
    "engine_data_dir",
    "load_config",
    "log_dir",
    "looks_secret",
    "mask_secret",
    "read_engine_env",
    "resolve_settings",
    "save_config",
    "save_profile",
    "state_dir",
]
