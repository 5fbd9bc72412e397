"""How long a RUNNING run may print nothing before the dashboard calls it quiet.

`quiet_after` in a profile (seconds, or `90s`, `10m`, `1h`; 0 turns it off), overridden by
`$RUNWATCH_QUIET_AFTER`, overridden by the dashboard's `--quiet-after`. Standard library only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING

from runwatch.config.files import ConfigError

if TYPE_CHECKING:
    from runwatch.config.files import Profile
    from runwatch.config.settings import Settings

__all__ = ["DEFAULT_QUIET_AFTER", "QUIET_AFTER_ENV", "duration_seconds", "quiet_after_setting"]

# Ten minutes: longer than most epochs print nothing, short enough to catch a hang.
DEFAULT_QUIET_AFTER = 600.0
QUIET_AFTER_ENV = "RUNWATCH_QUIET_AFTER"

_DURATION = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*", re.IGNORECASE)
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600}


def duration_seconds(value: object, what: str) -> float:
    """A duration setting: a number of seconds, or text such as `90s`, `10m`, `1h` (0: off)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        if value < 0:
            raise ConfigError(f"{what} must be >= 0, got {value!r}")
        return float(value)
    match = _DURATION.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise ConfigError(f"{what} must be seconds or a duration such as 10m, got {value!r}")
    return float(match.group(1)) * _UNIT_SECONDS[match.group(2).lower()]


def quiet_after_setting(
    settings: Settings,
    flag: str | float | None,
    environ: Mapping[str, str],
    profile: Profile | None,
) -> None:
    """How long a running run may print nothing: flag > env > profile > the default."""
    if flag is not None and flag != "":
        settings.quiet_after = duration_seconds(flag, "--quiet-after")
        settings.sources["quiet_after"] = "flag"
    elif environ.get(QUIET_AFTER_ENV):
        settings.quiet_after = duration_seconds(environ[QUIET_AFTER_ENV], QUIET_AFTER_ENV)
        settings.sources["quiet_after"] = f"env {QUIET_AFTER_ENV}"
    elif profile is not None and profile.quiet_after is not None:
        settings.quiet_after = profile.quiet_after
        settings.sources["quiet_after"] = f"profile {profile.name}"
