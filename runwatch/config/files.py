"""runwatch's own files: where they are, config.toml's profiles (read and written), secrets
masking (`masking.py`), and the local engine's env file.

Profiles live in `config.toml`:

    default_profile = "prod"

    [profiles.prod]
    api_url = "https://api.abeja.io"
    organization_id = "1234567890123"
    deployment_id = "1111111111111"
    user_id = "1122334455667"
    personal_access_token = "..."

Imports only the standard library and platformdirs.
"""

from __future__ import annotations

import dataclasses
import os
import re
import stat
import tempfile
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import platformdirs

from runwatch.config.masking import looks_secret, mask_secret, url_without_userinfo
from runwatch.config.toml_text import toml_key, toml_string, toml_value

__all__ = [
    "DEFAULT_API_URL",
    "ConfigError",
    "ConfigFile",
    "Profile",
    "check_url",
    "config_path",
    "dump_config",
    "engine_data_dir",
    "load_config",
    "log_dir",
    "looks_secret",
    "mask_secret",
    "read_engine_env",
    "save_config",
    "save_profile",
    "state_dir",
    "url_without_userinfo",
]

APP_NAME = "runwatch"
DEFAULT_API_URL = "https://api.abeja.io"
SECRET_FIELDS = frozenset({"auth_token", "personal_access_token"})


class ConfigError(ValueError):
    """The config file or an environment variable holds something unusable."""


# ---------------------------------------------------------------- locations


def config_path() -> Path:
    """`$RUNWATCH_CONFIG`, else `<user config dir>/runwatch/config.toml`."""
    override = os.environ.get("RUNWATCH_CONFIG")
    if override:
        return Path(override).expanduser()
    return platformdirs.user_config_path(APP_NAME, appauthor=False) / "config.toml"


def state_dir() -> Path:
    return platformdirs.user_state_path(APP_NAME, appauthor=False)


def log_dir() -> Path:
    return platformdirs.user_log_path(APP_NAME, appauthor=False)


def engine_data_dir() -> Path:
    """`$RUNWATCH_DATA_DIR`, else `<user data dir>/runwatch/engine`."""
    override = os.environ.get("RUNWATCH_DATA_DIR")
    if override:
        return Path(override).expanduser()
    return platformdirs.user_data_path(APP_NAME, appauthor=False) / "engine"


# ---------------------------------------------------------------- profiles


@dataclass
class Profile:
    name: str
    api_url: str | None = None
    organization_id: str | None = None
    deployment_id: str | None = None
    auth_token: str | None = None
    user_id: str | None = None
    personal_access_token: str | None = None
    read_only: bool = False
    poll_interval: float = 1.0
    idle_interval: float = 10.0
    max_backoff: float = 60.0
    bell: bool = True
    timeout: float | None = None
    max_retry_count: int | None = None
    # A PEM file of the CA(s) that signed the server's certificate (a private CA).
    ca_file: str | None = None
    # A regular expression for a log format of the profile's own (`runwatch.follow.metrics`):
    # named groups are metric names, a group named `step` is the step.
    metric_pattern: str | None = None
    # Seconds a RUNNING run may print nothing before it shows as quiet (0: never); None:
    # the default.
    quiet_after: float | None = None

    @property
    def credential(self) -> dict[str, str]:
        """The SDK-shaped credential: a token wins over user id + personal access token."""
        if self.auth_token:
            return {"auth_token": self.auth_token}
        if self.user_id and self.personal_access_token:
            return {"user_id": self.user_id, "personal_access_token": self.personal_access_token}
        return {}

    @property
    def has_secret(self) -> bool:
        return bool(self.auth_token or self.personal_access_token)


_STR_KEYS = (
    "api_url",
    "organization_id",
    "deployment_id",
    "auth_token",
    "user_id",
    "personal_access_token",
    "ca_file",
    "metric_pattern",
)
_BOOL_KEYS = ("read_only", "bell")
_FLOAT_KEYS = ("poll_interval", "idle_interval", "max_backoff", "timeout")
_INT_KEYS = ("max_retry_count",)


def _profile_from_table(
    name: str, table: Mapping[str, Any], where: str
) -> tuple[Profile, list[str]]:
    values: dict[str, Any] = {}
    warnings: list[str] = []
    for key, value in table.items():
        if key in _STR_KEYS:
            # Ids are often written unquoted; accept integers for them.
            if isinstance(value, int) and not isinstance(value, bool) and key.endswith("_id"):
                value = str(value)
            if not isinstance(value, str):
                raise ConfigError(f"{where}: profile {name!r}: {key} must be a string")
            values[key] = value or None
        elif key in _BOOL_KEYS:
            if not isinstance(value, bool):
                raise ConfigError(f"{where}: profile {name!r}: {key} must be true or false")
            values[key] = value
        elif key in _FLOAT_KEYS:
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise ConfigError(f"{where}: profile {name!r}: {key} must be a positive number")
            values[key] = float(value)
        elif key == "quiet_after":
            from runwatch.config.quiet_setting import duration_seconds

            values[key] = duration_seconds(value, f"{where}: profile {name!r}: {key}")
        elif key in _INT_KEYS:
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ConfigError(f"{where}: profile {name!r}: {key} must be an integer >= 0")
            values[key] = value
        else:
            warnings.append(f"{where}: profile {name!r}: unknown setting {key!r} ignored")
    api_url = values.get("api_url")
    if api_url is not None:
        check_url(api_url, f"{where}: profile {name!r}: api_url")
    pattern = values.get("metric_pattern")
    if pattern is not None:
        problem = metric_pattern_problem(pattern)
        if problem:
            raise ConfigError(f"{where}: profile {name!r}: metric_pattern {problem}")
    return Profile(name=name, **values), warnings


def metric_pattern_problem(pattern: str) -> str | None:
    """Why `pattern` cannot be a profile's metric_pattern, or None when it can."""
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        return f"is not a valid regular expression: {exc}"
    if not set(compiled.groupindex) - {"step"}:
        return "has no named group for a metric, such as (?P<loss>[0-9.]+)"
    return None


def check_url(url: str, what: str) -> None:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises for a port that is not a number or out of range
    except ValueError as error:
        # The URL itself is not repeated: it may carry a password.
        raise ConfigError(f"{what} is not a valid URL: {error}") from None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"{what} must be an http(s) URL, got {url_without_userinfo(url)!r}")


@dataclass
class ConfigFile:
    path: Path
    profiles: dict[str, Profile] = field(default_factory=dict)
    default_profile: str | None = None
    warnings: list[str] = field(default_factory=list)
    exists: bool = False


def load_config(path: Path | None = None) -> ConfigFile:
    """Read config.toml. A missing file is an empty config; a broken one is a ConfigError."""
    path = config_path() if path is None else path
    config = ConfigFile(path=path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return config
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    config.exists = True
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    default = data.get("default_profile")
    if default is not None and not isinstance(default, str):
        raise ConfigError(f"{path}: default_profile must be a string")
    config.default_profile = default or None
    profiles = data.get("profiles", {})
    if not isinstance(profiles, dict):
        raise ConfigError(f"{path}: [profiles] must be a table of tables")
    for name, table in profiles.items():
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: profiles.{name} must be a table")
        profile, warnings = _profile_from_table(name, table, str(path))
        config.profiles[name] = profile
        config.warnings.extend(warnings)
    for key in data:
        if key not in ("default_profile", "profiles"):
            config.warnings.append(f"{path}: unknown top-level setting {key!r} ignored")
    if any(p.has_secret for p in config.profiles.values()):
        warning = _permission_warning(path)
        if warning:
            config.warnings.append(warning)
    return config


def _permission_warning(path: Path) -> str | None:
    if os.name != "posix":
        return None
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return None
    if mode & (stat.S_IRGRP | stat.S_IROTH):
        return (
            f"{path} holds a secret but is readable by other users (mode {mode:04o}); "
            f"run: chmod 600 {path}"
        )
    return None


# ---------------------------------------------------------------- writing


def dump_config(profiles: Mapping[str, Profile], default_profile: str | None = None) -> str:
    """TOML for `profiles`. Only values that differ from a profile's defaults are written."""
    lines = ["# runwatch configuration; see `runwatch config`.", ""]
    if default_profile:
        lines += [f"default_profile = {toml_string(default_profile)}", ""]
    defaults = Profile(name="")
    for name, profile in profiles.items():
        lines.append(f"[profiles.{toml_key(name)}]")
        for f in dataclasses.fields(Profile):
            if f.name == "name":
                continue
            value = getattr(profile, f.name)
            if value is None or value == getattr(defaults, f.name):
                continue
            lines.append(f"{f.name} = {toml_value(value)}")
        lines.append("")
    return "\n".join(lines)


def save_config(config: ConfigFile) -> Path:
    """Write `config` atomically; the file is created with mode 0600 (its dir 0700)."""
    path = config.path
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    text = dump_config(config.profiles, config.default_profile)
    # mkstemp creates the file 0600, so the secret is never readable by others, not even briefly.
    fd, tmp = tempfile.mkstemp(prefix=".config-", suffix=".toml", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def save_profile(profile: Profile, *, path: Path | None = None, make_default: bool = False) -> Path:
    """Add or replace one profile in the config file, keeping the others."""
    config = load_config(path)
    config.profiles[profile.name] = profile
    if make_default:
        config.default_profile = profile.name
    return save_config(config)


# ---------------------------------------------------------------- the engine's env file


def read_engine_env(data_dir: Path) -> dict[str, str] | None:
    """`DIR/engine.env` (KEY=VALUE lines) as a dict, or None when there is none."""
    try:
        text = (Path(data_dir) / "engine.env").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    values: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export ") :].lstrip()
        key, sep, value = line.partition("=")
        if not sep:
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = value
    return values
