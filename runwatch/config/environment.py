"""Settings read from the environment: numbers checked, and the credential in the official
SDK's order (`PLATFORM_AUTH_TOKEN`, then `ABEJA_PLATFORM_USER_ID` + its personal access token),
then the abeja CLI's pair (`ABEJA_CLI_USER` + `ABEJA_CLI_TOKEN`).
"""

from __future__ import annotations

from collections.abc import Mapping

from runwatch.config import abeja
from runwatch.config.files import ConfigError

__all__ = ["env_credential", "env_float", "env_int"]


def env_float(environ: Mapping[str, str], name: str) -> float | None:
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


def env_int(environ: Mapping[str, str], name: str) -> int | None:
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


def env_credential(environ: Mapping[str, str]) -> tuple[dict[str, str], str | None]:
    # The SDK's order, then the abeja CLI's pair; half a pair is not a credential.
    token = environ.get("PLATFORM_AUTH_TOKEN")
    if token:
        return {"auth_token": token}, "env PLATFORM_AUTH_TOKEN"
    for user_var, secret_var in (
        ("ABEJA_PLATFORM_USER_ID", "ABEJA_PLATFORM_PERSONAL_ACCESS_TOKEN"),
        (abeja.ENV_USER, abeja.ENV_TOKEN),
    ):
        user_id, pat = environ.get(user_var), environ.get(secret_var)
        if user_id and pat:
            return (
                {"user_id": user_id, "personal_access_token": pat},
                f"env {user_var} + {secret_var}",
            )
    return {}, None
