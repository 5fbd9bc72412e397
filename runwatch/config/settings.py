"""The effective settings: flags > environment > profile (config.toml) > the abeja CLI's
configuration > the local engine.

The environment variables are the official SDK's (`PLATFORM_AUTH_TOKEN`, `ABEJA_PLATFORM_USER_ID`
+ `ABEJA_PLATFORM_PERSONAL_ACCESS_TOKEN`, `ABEJA_API_URL`, `ABEJA_ORGANIZATION_ID`,
`ABEJA_SDK_CONNECTION_TIMEOUT`, `ABEJA_SDK_MAX_RETRY_COUNT`), so a shell set up for the SDK
works unchanged, and the abeja CLI's (`ABEJA_CLI_USER` + `ABEJA_CLI_TOKEN`,
`ABEJA_CLI_ORGANIZATION`). With no runwatch profile selected, the abeja CLI's configuration
(`~/.abeja/config`, see `runwatch.config.abeja`) fills in whatever the flags and the
environment leave unset, as k9s uses the current kubeconfig context. When nothing names a
remote API, `Settings.local_engine` is True and the app uses the embedded engine; `local=True`
(`--local`) always means the local engine. `Settings.api_source` says where the API came from:
the status bar and `runwatch config` both show it.

Imports only the standard library: the CLI imports this to print `runwatch config` without
loading httpx.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from runwatch.config import abeja
from runwatch.config.environment import env_credential, env_float, env_int
from runwatch.config.files import (
    DEFAULT_API_URL,
    ConfigError,
    Profile,
    check_url,
    config_path,
    load_config,
    looks_secret,
    mask_secret,
    metric_pattern_problem,
    url_without_userinfo,
)
from runwatch.config.quiet_setting import DEFAULT_QUIET_AFTER, quiet_after_setting

__all__ = ["LOCAL_SOURCE", "ApiSource", "Settings", "resolve_settings"]


SourceKind = Literal["local", "flag", "env", "profile", "abeja", "default"]


@dataclass(frozen=True)
class ApiSource:
    """Where the API came from, as the status bar and `runwatch config` name it."""

    kind: SourceKind = "local"
    # The profile's or abeja configuration's name, or the variable's.
    name: str = ""
    # More detail for `runwatch config`: the abeja CLI's file, "default URL".
    where: str = ""

    @property
    def label(self) -> str:
        """`local engine`, `env ABEJA_API_URL`, `profile prod`, `abeja config default`, ..."""
        if self.kind == "local":
            return "local engine"
        if self.kind == "flag":
            return "flag --api-url"
        if self.kind == "default":
            return "default"
        prefix = {"env": "env", "profile": "profile", "abeja": "abeja config"}[self.kind]
        return f"{prefix} {self.name}"

    @property
    def detail(self) -> str:
        return f"{self.label} ({self.where})" if self.where else self.label


LOCAL_SOURCE = ApiSource("local")


@dataclass
class Settings:
    profile: str | None = None
    api_url: str = ""
    organization_id: str | None = None
    # An organization known by name only (the abeja CLI's organization-name): the client
    # resolves it to `organization_id` (runwatch.api.organizations) before the first call.
    organization_name: str | None = None
    deployment_id: str | None = None
    # Out of repr: a Settings printed in a log or a traceback must not show a secret.
    credential: dict[str, str] = field(default_factory=dict, repr=False)
    read_only: bool = False
    poll_interval: float = 1.0
    idle_interval: float = 10.0
    max_backoff: float = 60.0
    bell: bool = True
    # Seconds a RUNNING run may print nothing before the dashboard shows it "quiet" and says
    # so once (0: never): flag --quiet-after > env RUNWATCH_QUIET_AFTER > profile > 10 min.
    quiet_after: float = DEFAULT_QUIET_AFTER
    local_engine: bool = False
    timeout: float | None = None
    max_retry_count: int | None = None
    ca_file: str | None = None
    # The profile's own log format for metrics (see config.files.Profile.metric_pattern).
    metric_pattern: str | None = None
    api_source: ApiSource = LOCAL_SOURCE
    # Where each value came from ("flag", "env ABEJA_API_URL", "profile prod", "default").
    sources: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    config_path: Path | None = None

    def client_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for `APIClient(...)` / `AsyncAPIClient(...)`."""
        kwargs: dict[str, Any] = {
            "credential": dict(self.credential),
            "timeout": self.timeout,
            "max_retry_count": self.max_retry_count,
            "base_url": self.api_url or None,
        }
        if self.ca_file:
            kwargs["ca_file"] = self.ca_file
        return kwargs

    def with_engine(self, url: str, organization_id: str, token: str) -> Settings:
        """These settings pointed at a running local engine."""
        return dataclasses.replace(
            self,
            api_url=url,
            organization_id=self.organization_id or organization_id,
            credential={"auth_token": token},
            api_source=LOCAL_SOURCE,
            sources={**self.sources, "api_url": "local engine", "credential": "local engine"},
        )

    def with_organization(self, organization_id: str) -> Settings:
        """These settings once `organization_name` has been resolved to its id."""
        return dataclasses.replace(self, organization_id=organization_id)

    @property
    def state_key(self) -> str | None:
        """Whose remembered view this is: the profile's, the abeja configuration's, or the
        local one (None). An abeja user's last deployment is not offered to the local engine."""
        if self.profile:
            return self.profile
        if self.api_source.kind == "abeja":
            return f"abeja-{self.api_source.name}"
        return None

    @property
    def credential_source(self) -> str:
        """Where the credential came from, for "check the token of ..."."""
        return self.sources.get("credential") or self.api_source.label

    @property
    def needs_organization_lookup(self) -> bool:
        return bool(self.organization_name) and not self.organization_id

    def masked(self) -> dict[str, str]:
        """Every setting as display text, secrets masked."""
        if self.api_url:
            api_url = url_without_userinfo(self.api_url)
        else:
            api_url = "(local engine)" if self.local_engine else "(unset)"
        organization = self.organization_id or "(unset)"
        if self.organization_name:
            looked_up = self.organization_id or "looked up when connecting"
            organization = f"{looked_up} (name {self.organization_name!r})"
        shown: dict[str, str] = {
            "profile": self.profile or "(none)",
            "api_url": api_url,
            "organization_id": organization,
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
                "quiet_after": f"{self.quiet_after:g}" if self.quiet_after else "0 (off)",
                "timeout": f"{self.timeout:g}" if self.timeout else "30 (default)",
                "max_retry_count": str(self.max_retry_count)
                if self.max_retry_count is not None
                else "5 (default)",
                "local_engine": str(self.local_engine).lower(),
                "ca_file": self.ca_file or "(unset)",
                "metric_pattern": self.metric_pattern or "(none)",
            }
        )
        return shown


def _local_settings(
    *, profile: str | None, api_url: str | None, deployment_id: str | None, read_only: bool | None
) -> Settings:
    # Neither config.toml nor the abeja CLI's file is read: a broken one never stops --local.
    if profile or api_url:
        raise ConfigError("--local opens the local engine: leave out --profile and --api-url")
    settings = Settings(local_engine=True, deployment_id=deployment_id or None)
    settings.sources["api_url"] = "local engine (--local)"
    if deployment_id:
        settings.sources["deployment_id"] = "flag"
    if read_only is not None:
        settings.read_only = read_only
        settings.sources["read_only"] = "flag"
    return settings


def _with_env_metric_pattern(settings: Settings, environ: Mapping[str, str]) -> Settings:
    """$RUNWATCH_METRIC_PATTERN over the profile's metric_pattern (the local engine has no
    profile, so this is its one way to name a custom format)."""
    pattern = environ.get("RUNWATCH_METRIC_PATTERN")
    if pattern:
        problem = metric_pattern_problem(pattern)
        if problem:
            raise ConfigError(f"RUNWATCH_METRIC_PATTERN {problem}")
        settings.metric_pattern = pattern
        settings.sources["metric_pattern"] = "env RUNWATCH_METRIC_PATTERN"
    return settings


def resolve_settings(
    *,
    profile: str | None = None,
    api_url: str | None = None,
    organization_id: str | None = None,
    deployment_id: str | None = None,
    read_only: bool | None = None,
    local: bool = False,
    environ: Mapping[str, str] = os.environ,
    path: Path | None = None,
    quiet_after: str | float | None = None,
) -> Settings:
    """The effective settings: flags (the keyword arguments) > environment > profile > the
    abeja CLI's configuration > the local engine.

    The profile is the one named by `profile`, else `$RUNWATCH_PROFILE`, else the file's
    `default_profile`, else a profile called "default" if there is one. A name that is no
    runwatch profile may name one of the abeja CLI's configurations; naming neither is a
    ConfigError. With no runwatch profile, the abeja CLI's configuration fills in the API URL,
    the credential and the organization that the flags and the environment leave unset.
    """
    if local:
        local_settings = _local_settings(
            profile=profile, api_url=api_url, deployment_id=deployment_id, read_only=read_only
        )
        quiet_after_setting(local_settings, quiet_after, environ, None)
        return _with_env_metric_pattern(local_settings, environ)
    if path is None:
        override = environ.get("RUNWATCH_CONFIG")
        path = Path(override).expanduser() if override else config_path()
    config = load_config(path)
    settings = Settings(config_path=path, warnings=list(config.warnings))
    sources = settings.sources

    chosen: Profile | None = None
    layer = abeja.AbejaLayer(environ)
    name, why = profile, "flag"
    if not name and environ.get("RUNWATCH_PROFILE"):
        name, why = environ["RUNWATCH_PROFILE"], "env RUNWATCH_PROFILE"
    if not name and config.default_profile:
        name, why = config.default_profile, "default_profile"
    if name:
        chosen = config.profiles.get(name)
        if chosen is None and not layer.choose(name):
            known = ", ".join(sorted(config.profiles)) or "none"
            raise ConfigError(
                f"no profile {name!r} in {path} ({why}); profiles: {known}{layer.known_names()}"
            )
        sources["profile"] = why if chosen else f"{why}: abeja config {name}"
    elif "default" in config.profiles:
        chosen, why = config.profiles["default"], "profile named default"
    if chosen is not None:
        settings.profile = chosen.name
        sources["profile"] = why
        for key in ("read_only", "poll_interval", "idle_interval", "max_backoff", "bell"):
            setattr(settings, key, getattr(chosen, key))
            sources[key] = f"profile {chosen.name}"
        if chosen.metric_pattern:
            settings.metric_pattern = chosen.metric_pattern
            sources["metric_pattern"] = f"profile {chosen.name}"
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
    source: ApiSource | None = None
    if url is not None:
        source = {
            "flag": ApiSource("flag"),
            "env ABEJA_API_URL": ApiSource("env", "ABEJA_API_URL"),
        }.get(sources["api_url"]) or ApiSource("profile", chosen.name if chosen else "")
    settings.organization_id = pick(
        "organization_id",
        organization_id,
        "ABEJA_ORGANIZATION_ID",
        chosen.organization_id if chosen else None,
    )
    if settings.organization_id is None and environ.get(abeja.ENV_ORGANIZATION):
        settings.organization_name = environ[abeja.ENV_ORGANIZATION]
        sources["organization_id"] = f"env {abeja.ENV_ORGANIZATION}"
    settings.deployment_id = pick(
        "deployment_id",
        deployment_id,
        "ABEJA_DEPLOYMENT_ID",
        chosen.deployment_id if chosen else None,
    )
    credential, credential_source = env_credential(environ)
    if credential_source:
        sources["credential"] = credential_source
    elif chosen is not None and chosen.credential:
        credential = chosen.credential
        sources["credential"] = from_profile

    # The abeja CLI's configuration: only with no runwatch profile, only for what is missing,
    # so a broken file stops nothing that does not need it.
    no_organization = settings.organization_id is None and not settings.organization_name
    found = None
    if chosen is None and (url is None or not credential or no_organization):
        found = layer.configuration()
    if found is not None:
        if url is None:
            url = found.api_url or DEFAULT_API_URL
            where = layer.shown_path
            source = ApiSource(
                "abeja", found.shown_name, where if found.api_url else f"{where}, default URL"
            )
            sources["api_url"] = source.detail
        if not credential:
            credential = layer.require(
                found.credential, "abeja-platform-user and personal-access-token"
            )
            sources["credential"] = layer.source("user", "token")
        if no_organization:
            settings.organization_name = layer.require(found.organization, "organization-name")
            sources["organization_id"] = layer.source("organization")
    settings.credential = credential
    if url is not None:
        check_url(url, f"api_url ({sources['api_url']})")

    timeout = env_float(environ, "ABEJA_SDK_CONNECTION_TIMEOUT")
    if timeout is not None:
        sources["timeout"] = "env ABEJA_SDK_CONNECTION_TIMEOUT"
    elif chosen is not None and chosen.timeout is not None:
        timeout = chosen.timeout
        sources["timeout"] = from_profile
    settings.timeout = timeout
    retries = env_int(environ, "ABEJA_SDK_MAX_RETRY_COUNT")
    if retries is not None:
        sources["max_retry_count"] = "env ABEJA_SDK_MAX_RETRY_COUNT"
    elif chosen is not None and chosen.max_retry_count is not None:
        retries = chosen.max_retry_count
        sources["max_retry_count"] = from_profile
    settings.max_retry_count = retries
    if chosen is not None and chosen.ca_file:
        settings.ca_file = str(Path(chosen.ca_file).expanduser())
        sources["ca_file"] = from_profile

    if read_only is not None:
        settings.read_only = read_only
        sources["read_only"] = "flag"
    quiet_after_setting(settings, quiet_after, environ, chosen)

    _with_env_metric_pattern(settings, environ)
    if url is None and chosen is None and not credential:
        settings.local_engine = True
        sources["api_url"] = "local engine"
        return settings
    if url is None:
        # What the SDK does with a credential and no ABEJA_API_URL: the hosted platform.
        url = DEFAULT_API_URL
        sources["api_url"] = "default"
        source = (
            ApiSource("profile", chosen.name, "default URL") if chosen else ApiSource("default")
        )
    settings.api_url = url.rstrip("/")
    settings.api_source = source or ApiSource("default")
    return settings
