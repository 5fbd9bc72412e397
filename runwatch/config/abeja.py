"""The official abeja CLI's configuration, read exactly the way `abejacli` 2.2.8 reads it.

The file is `~/.abeja/config`, JSON, written by `abeja config init`:

    {
      "abeja-platform-user": "user-1122334455667",
      "personal-access-token": "...",
      "organization-name": "acme",
      "abeja-api-url": "https://api.abeja.io",
      "configurations": [
        {"configuration-name": "dev", "abeja-platform-user": "...", ...}
      ],
      "active-configuration-name": "dev"
    }

The top-level keys are the unnamed configuration (the CLI prints it as "(default)");
`configurations` holds named ones; `active-configuration-name` picks one (absent: the unnamed
one). `abeja-api-url` is optional. abejacli has no variable that moves the file: it is
`~` + `/.abeja/config`, so `HOME` moves it. Like abejacli, `ABEJA_CLI_USER`, `ABEJA_CLI_TOKEN`
and `ABEJA_CLI_ORGANIZATION` override the chosen configuration's values field by field.

`organization-name` is a name, not an id: the client resolves it as abejacli's
`get_organization_id` does (GET /organizations/<name>, the answer's `id`), in
`runwatch.api.organizations`.

Only the standard library: `runwatch config` imports this without loading httpx.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from runwatch.config.files import ConfigError

__all__ = [
    "ENV_ORGANIZATION",
    "ENV_TOKEN",
    "ENV_USER",
    "AbejaConfigError",
    "AbejaConfigFile",
    "AbejaConfiguration",
    "AbejaLayer",
    "abeja_config_path",
    "display_path",
    "load_abeja_config",
]

ENV_USER = "ABEJA_CLI_USER"
ENV_TOKEN = "ABEJA_CLI_TOKEN"  # noqa: S105 - the variable's name, not a secret
ENV_ORGANIZATION = "ABEJA_CLI_ORGANIZATION"

# The name runwatch shows for the unnamed configuration ("abeja config default").
UNNAMED = "default"

_KEYS = {
    "user": "abeja-platform-user",
    "token": "personal-access-token",
    "organization": "organization-name",
    "api_url": "abeja-api-url",
}
_OVERRIDES = {"user": ENV_USER, "token": ENV_TOKEN, "organization": ENV_ORGANIZATION}


T = TypeVar("T")


class AbejaConfigError(ConfigError):
    """The abeja CLI's file is unreadable or malformed. The text names the file, never a value."""


def abeja_config_path(environ: Mapping[str, str] = os.environ) -> Path:
    """`$HOME/.abeja/config`, as abejacli's `os.path.expanduser('~')` finds it."""
    home = environ.get("HOME")
    return (Path(home) if home else Path.home()) / ".abeja" / "config"


def display_path(path: Path, environ: Mapping[str, str] = os.environ) -> str:
    """`~/.abeja/config` when the file is under HOME, else the full path."""
    home = environ.get("HOME")
    if home:
        try:
            return "~/" + path.relative_to(home).as_posix()
        except ValueError:
            pass
    return str(path)


@dataclass(frozen=True)
class AbejaConfiguration:
    """One configuration of the file, after the `ABEJA_CLI_*` overrides."""

    name: str | None
    user: str | None = None
    token: str | None = None
    organization: str | None = None
    api_url: str | None = None
    # The ABEJA_CLI_* variable behind each overridden field (key: user, token, organization).
    overridden: Mapping[str, str] = field(default_factory=dict)

    @property
    def shown_name(self) -> str:
        return self.name or UNNAMED

    @property
    def credential(self) -> dict[str, str]:
        """The SDK-shaped credential (Basic `user-<id>:<token>`), or {} when half is missing."""
        if self.user and self.token:
            return {"user_id": self.user, "personal_access_token": self.token}
        return {}


@dataclass
class AbejaConfigFile:
    path: Path
    configurations: dict[str | None, AbejaConfiguration] = field(default_factory=dict)
    active: str | None = None

    @property
    def names(self) -> list[str]:
        return sorted(c.shown_name for c in self.configurations.values())

    def get(self, name: str) -> AbejaConfiguration | None:
        """The configuration called `name`; "default" also finds the unnamed one."""
        found = self.configurations.get(name)
        if found is None and name == UNNAMED:
            found = self.configurations.get(None)
        return found

    def active_configuration(self) -> AbejaConfiguration:
        found = self.configurations.get(self.active)
        if found is None:
            # abejacli fails the same way: named configurations, none of them active.
            raise AbejaConfigError(
                f"{self.path}: no active configuration (run `abeja config switch NAME`); "
                f"configurations: {', '.join(self.names) or 'none'}"
            )
        return found


def load_abeja_config(
    path: Path | None = None, environ: Mapping[str, str] = os.environ
) -> AbejaConfigFile | None:
    """The file with the environment's overrides applied, or None when there is no file."""
    path = abeja_config_path(environ) if path is None else path
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise AbejaConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise AbejaConfigError(f"{path}: not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        # The decoder's message gives the place, never the text around it (it may be a token).
        raise AbejaConfigError(f"{path}: not valid JSON: {exc.msg} at line {exc.lineno}") from None
    if not isinstance(data, dict):
        raise AbejaConfigError(f"{path}: expected a JSON object")
    loaded = AbejaConfigFile(path=path)
    listed = data.get("configurations") or []
    if not isinstance(listed, list) or not all(isinstance(c, dict) for c in listed):
        raise AbejaConfigError(f"{path}: configurations must be a list of objects")
    for entry in listed:
        configuration = _configuration(entry, path, environ, named=True)
        if configuration.name in loaded.configurations:
            raise AbejaConfigError(f"{path}: configuration {configuration.name!r} appears twice")
        loaded.configurations[configuration.name] = configuration
    # The unnamed configuration is the top level (with the overrides), as in abejacli; an
    # empty one next to named configurations is no configuration at all.
    unnamed = _configuration(data, path, environ, named=False)
    if not loaded.configurations or any(
        (unnamed.user, unnamed.token, unnamed.organization, unnamed.api_url)
    ):
        loaded.configurations[None] = unnamed
    active = data.get("active-configuration-name")
    if active is not None and not isinstance(active, str):
        raise AbejaConfigError(f"{path}: active-configuration-name must be a string")
    if active and active not in loaded.configurations:
        raise AbejaConfigError(
            f"{path}: active-configuration-name {active!r} names no configuration; "
            f"configurations: {', '.join(loaded.names) or 'none'}"
        )
    loaded.active = active or None
    return loaded


def _configuration(
    entry: Mapping[str, Any], path: Path, environ: Mapping[str, str], *, named: bool
) -> AbejaConfiguration:
    name: str | None = None
    if named:
        name = entry.get("configuration-name")
        if not isinstance(name, str) or not name:
            raise AbejaConfigError(f"{path}: a configuration has no configuration-name")
    where = f"configuration {name or UNNAMED!r}"
    values: dict[str, str | None] = {}
    for attribute, key in _KEYS.items():
        value = entry.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)  # ids written as numbers
        if value is not None and not isinstance(value, str):
            # Only the key is named: the value may be a secret.
            raise AbejaConfigError(f"{path}: {where}: {key} must be a string")
        values[attribute] = value or None
    overridden: dict[str, str] = {}
    for attribute, variable in _OVERRIDES.items():
        if environ.get(variable):
            values[attribute] = environ[variable]
            overridden[attribute] = variable
    return AbejaConfiguration(name=name, overridden=overridden, **values)


class AbejaLayer:
    """The settings' view of the file: read at most once, and only when a setting needs it.

    `choose(name)` picks a configuration by name (`--profile NAME`); otherwise the active one
    is used. Every error names the file and never a value.
    """

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.environ = environ
        self.path = abeja_config_path(environ)
        self._file: AbejaConfigFile | None = None
        self._read = False
        self._chosen: AbejaConfiguration | None = None

    @property
    def shown_path(self) -> str:
        return display_path(self.path, self.environ)

    def file(self) -> AbejaConfigFile | None:
        if not self._read:
            self._file = load_abeja_config(self.path, self.environ)
            self._read = True
        return self._file

    def choose(self, name: str) -> bool:
        loaded = self.file()
        self._chosen = loaded.get(name) if loaded is not None else None
        return self._chosen is not None

    def known_names(self) -> str:
        """ "; abeja CLI configurations: a, b" for an error message, or "" with no file."""
        loaded = self.file()
        if loaded is None:
            return ""
        return f"; abeja CLI configurations: {', '.join(loaded.names) or 'none'}"

    def configuration(self) -> AbejaConfiguration | None:
        if self._chosen is None:
            loaded = self.file()
            if loaded is not None:
                self._chosen = loaded.active_configuration()
        return self._chosen

    def source(self, *fields: str) -> str:
        """ "abeja config dev (~/.abeja/config)", plus the variables that overrode `fields`."""
        chosen = self._chosen
        assert chosen is not None
        overrides = sorted({chosen.overridden[f] for f in fields if f in chosen.overridden})
        extra = "".join(f" + env {name}" for name in overrides)
        return f"abeja config {chosen.shown_name} ({self.shown_path}){extra}"

    def require(self, value: T, key: str) -> T:
        """`value`, or an error naming the file and what the configuration lacks."""
        if value:
            return value
        chosen = self._chosen
        name = chosen.shown_name if chosen is not None else UNNAMED
        raise AbejaConfigError(
            f"{self.path}: configuration {name!r} has no {key} (run `abeja config init`)"
        )
