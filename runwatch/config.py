"""Settings: command-line flags > environment > profile (config.toml) > the local engine.

The environment variables are the official SDK's (`PLATFORM_AUTH_TOKEN`, `ABEJA_PLATFORM_USER_ID`
+ `ABEJA_PLATFORM_PERSONAL_ACCESS_TOKEN`, `ABEJA_API_URL`, `ABEJA_ORGANIZATION_ID`,
`ABEJA_SDK_CONNECTION_TIMEOUT`, `ABEJA_SDK_MAX_RETRY_COUNT`), so a shell set up for the SDK
works unchanged. Profiles live in `config.toml`:

    default_profile = "prod"

    [profiles.prod]
    api_url = "https://api.abeja.io"
    organization_id = "1234567890123"
    deployment_id = "1111111111111"
    user_id = "1122334455667"
    personal_access_token = "..."

When nothing names a remote API (no profile selected, no ABEJA_API_URL, no credential in the
environment), `Settings.local_engine` is True and the app uses the embedded engine.

Imports only the standard library and platformdirs: the CLI imports this module to print
`runwatch config` without loading httpx.
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
from urllib.parse import urlsplit, urlunsplit

import platformdirs

__all__ = [
    "DEFAULT_API_URL",
    "ConfigError",
    "ConfigFile",
    "Profile",
    "Settings",
    "config_path",
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

APP_NAME = "runwatch"
DEFAULT_API_URL = "https://api.abeja.io"
SECRET_FIELDS = frozenset({"auth_token", "personal_access_token"})

# Substrings that mark a secret anywhere in a name, and words that do so only on their own
# ("KEY" in "API_KEY" but not in "MONKEY", "PAT" but not "PATH").
_SECRET_PARTS = ("SECRET", "TOKEN", "PASSWORD", "CREDENTIAL", "APIKEY", "PRIVATE")
_SECRET_WORDS = frozenset({"KEY", "PASS", "PASSWD", "PAT", "PWD", "AUTH"})


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


# ---------------------------------------------------------------- secrets


def looks_secret(name: str) -> bool:
    """Whether a setting or variable called `name` should be masked when shown."""
    upper = name.upper()
    if any(part in upper for part in _SECRET_PARTS):
        return True
    return bool(set(re.split(r"[^A-Z0-9]+", upper)) & _SECRET_WORDS)


def mask_secret(value: str) -> str:
    """Enough to tell two secrets apart, never enough to use one: `****wxyz` (or `****`)."""
    if not value:
        return ""
    if len(value) >= 16:
        return "****" + value[-4:]
    return "****"


def _url_without_userinfo(url: str) -> str:
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc="****@" + parts.netloc.rsplit("@", 1)[1]))


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
        elif key in _INT_KEYS:
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ConfigError(f"{where}: profile {name!r}: {key} must be an integer >= 0")
            values[key] = value
        else:
            warnings.append(f"{where}: profile {name!r}: unknown setting {key!r} ignored")
    api_url = values.get("api_url")
    if api_url is not None:
        _check_url(api_url, f"{where}: profile {name!r}: api_url")
    return Profile(name=name, **values), warnings


def _check_url(url: str, what: str) -> None:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises for a port that is not a number or out of range
    except ValueError as error:
        # The URL itself is not repeated: it may carry a password.
        raise ConfigError(f"{what} is not a valid URL: {error}") from None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"{what} must be an http(s) URL, got {_url_without_userinfo(url)!r}")


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


def _toml_string(value: str) -> str:
    out = ['"']
    for ch in value:
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _toml_key(key: str) -> str:
    if key and all(ch.isascii() and (ch.isalnum() or ch in "-_") for ch in key):
        return key
    return _toml_string(key)


def _toml_value(value: str | bool | int | float) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return _toml_string(value)


def dump_config(profiles: Mapping[str, Profile], default_profile: str | None = None) -> str:
    """TOML for `profiles`. Only values that differ from a profile's defaults are written."""
    lines = ["# runwatch configuration; see `runwatch config`.", ""]
    if default_profile:
        lines += [f"default_profile = {_toml_string(default_profile)}", ""]
    defaults = Profile(name="")
    for name, profile in profiles.items():
        lines.append(f"[profiles.{_toml_key(name)}]")
        for f in dataclasses.fields(Profile):
            if f.name == "name":
                continue
            value = getattr(profile, f.name)
            if value is None or value == getattr(defaults, f.name):
                continue
            lines.append(f"{f.name} = {_toml_value(value)}")
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


# ---------------------------------------------------------------- effective settings


@dataclass
class Settings:
    profile: str | None = None
    api_url: str = ""
    organization_id: str | None = None
    deployment_id: str | None = None
    credential: dict[str, str] = field(default_factory=dict)
    read_only: bool = False
    poll_interval: float = 1.0
    idle_interval: float = 10.0
    max_backoff: float = 60.0
    bell: bool = True
    local_engine: bool = False
    timeout: float | None = None
    max_retry_count: int | None = None
    # Where each value came from ("flag", "env ABEJA_API_URL", "profile prod", "default").
    sources: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    config_path: Path | None = None

    def client_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for `APIClient(...)` / `AsyncAPIClient(...)`."""
        return {
            "credential": dict(self.credential),
            "timeout": self.timeout,
            "max_retry_count": self.max_retry_count,
            "base_url": self.api_url or None,
        }

    def with_engine(self, url: str, organization_id: str, token: str) -> Settings:
        """These settings pointed at a running local engine."""
        return dataclasses.replace(
            self,
            api_url=url,
            organization_id=self.organization_id or organization_id,
            credential={"auth_token": token},
            sources={**self.sources, "api_url": "local engine", "credential": "local engine"},
        )

    def masked(self) -> dict[str, str]:
        """Every setting as display text, secrets masked."""
        if self.api_url:
            api_url = _url_without_userinfo(self.api_url)
        else:
            api_url = "(local engine)" if self.local_engine else "(unset)"
        shown: dict[str, str] = {
            "profile": self.profile or "(none)",
            "api_url": api_url,
            "organization_id": self.organization_id or "(unset)",
            "deployment_id": self.deployment_id or "(unset)",
        }
        if not self.credential:
            shown["credential"] = "(none)"
        for key, value in self.credential.items():
            shown[key] = mask_secret(value) if looks_secret(key) else value
        shown.update(
            {
                "read_only": str(self.read_only).lower(),
                "poll_interval": f"{self.poll_interval:g}",
                "idle_interval": f"{self.idle_interval:g}",
                "max_backoff": f"{self.max_backoff:g}",
                "bell": str(self.bell).lower(),
                "timeout": f"{self.timeout:g}" if self.timeout else "30 (default)",
                "max_retry_count": str(self.max_retry_count)
                if self.max_retry_count is not None
                else "5 (default)",
                "local_engine": str(self.local_engine).lower(),
            }
        )
        return shown


def _env_float(environ: Mapping[str, str], name: str) -> float | None:
    raw = environ.get(name)
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None
    if not value > 0:
        raise ConfigError(f"{name} must be positive, got {raw!r}")
    return value


def _env_int(environ: Mapping[str, str], name: str) -> int | None:
    raw = environ.get(name)
    if not raw:
        return None
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None
    if value < 0:
        raise ConfigError(f"{name} must be >= 0, got {raw!r}")
    return value


def _env_credential(environ: Mapping[str, str]) -> tuple[dict[str, str], str | None]:
    # The SDK's order; an incomplete user id + token pair is not a credential.
    token = environ.get("PLATFORM_AUTH_TOKEN")
    if token:
        return {"auth_token": token}, "env PLATFORM_AUTH_TOKEN"
    user_id = environ.get("ABEJA_PLATFORM_USER_ID")
    pat = environ.get("ABEJA_PLATFORM_PERSONAL_ACCESS_TOKEN")
    if user_id and pat:
        return (
            {"user_id": user_id, "personal_access_token": pat},
            "env ABEJA_PLATFORM_USER_ID + ABEJA_PLATFORM_PERSONAL_ACCESS_TOKEN",
        )
    return {}, None


def resolve_settings(
    *,
    profile: str | None = None,
    api_url: str | None = None,
    organization_id: str | None = None,
    deployment_id: str | None = None,
    read_only: bool | None = None,
    environ: Mapping[str, str] = os.environ,
    path: Path | None = None,
) -> Settings:
    """The effective settings: flags (the keyword arguments) > environment > profile.

    The profile is the one named by `profile`, else `$RUNWATCH_PROFILE`, else the file's
    `default_profile`, else a profile called "default" if there is one. Naming a profile that
    does not exist is a ConfigError.
    """
    if path is None:
        override = environ.get("RUNWATCH_CONFIG")
        path = Path(override).expanduser() if override else config_path()
    config = load_config(path)
    settings = Settings(config_path=path, warnings=list(config.warnings))
    sources = settings.sources

    chosen: Profile | None = None
    name, why = profile, "flag"
    if not name and environ.get("RUNWATCH_PROFILE"):
        name, why = environ["RUNWATCH_PROFILE"], "env RUNWATCH_PROFILE"
    if not name and config.default_profile:
        name, why = config.default_profile, "default_profile"
    if name:
        chosen = config.profiles.get(name)
        if chosen is None:
            known = ", ".join(sorted(config.profiles)) or "none"
            raise ConfigError(f"no profile {name!r} in {path} ({why}); profiles: {known}")
    elif "default" in config.profiles:
        chosen, why = config.profiles["default"], "profile named default"
    if chosen is not None:
        settings.profile = chosen.name
        sources["profile"] = why
        for key in ("read_only", "poll_interval", "idle_interval", "max_backoff", "bell"):
            setattr(settings, key, getattr(chosen, key))
            sources[key] = f"profile {chosen.name}"
    from_profile = f"profile {chosen.name}" if chosen else ""

    def pick(key: str, flag: Any, env_name: str | None, profile_value: Any) -> Any:
        if flag is not None and flag != "":
            sources[key] = "flag"
            return flag
        if env_name and environ.get(env_name):
            sources[key] = f"env {env_name}"
            return environ[env_name]
        if profile_value is not None:
            sources[key] = from_profile
            return profile_value
        return None

    url = pick("api_url", api_url, "ABEJA_API_URL", chosen.api_url if chosen else None)
    if url is not None:
        _check_url(url, f"api_url ({sources['api_url']})")
    settings.organization_id = pick(
        "organization_id",
        organization_id,
        "ABEJA_ORGANIZATION_ID",
        chosen.organization_id if chosen else None,
    )
    settings.deployment_id = pick(
        "deployment_id",
        deployment_id,
        "ABEJA_DEPLOYMENT_ID",
        chosen.deployment_id if chosen else None,
    )
    credential, credential_source = _env_credential(environ)
    if credential_source:
        sources["credential"] = credential_source
    elif chosen is not None and chosen.credential:
        credential = chosen.credential
        sources["credential"] = from_profile
    settings.credential = credential

    timeout = _env_float(environ, "ABEJA_SDK_CONNECTION_TIMEOUT")
    if timeout is not None:
        sources["timeout"] = "env ABEJA_SDK_CONNECTION_TIMEOUT"
    elif chosen is not None and chosen.timeout is not None:
        timeout = chosen.timeout
        sources["timeout"] = from_profile
    settings.timeout = timeout
    retries = _env_int(environ, "ABEJA_SDK_MAX_RETRY_COUNT")
    if retries is not None:
        sources["max_retry_count"] = "env ABEJA_SDK_MAX_RETRY_COUNT"
    elif chosen is not None and chosen.max_retry_count is not None:
        retries = chosen.max_retry_count
        sources["max_retry_count"] = from_profile
    settings.max_retry_count = retries

    if read_only is not None:
        settings.read_only = read_only
        sources["read_only"] = "flag"

    if url is None and chosen is None and not credential:
        settings.local_engine = True
        sources["api_url"] = "local engine"
    else:
        if url is None:
            # What the SDK does with a credential and no ABEJA_API_URL: the hosted platform.
            url = DEFAULT_API_URL
            sources["api_url"] = "default"
        settings.api_url = url.rstrip("/")
    return settings
