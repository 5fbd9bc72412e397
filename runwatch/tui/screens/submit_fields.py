"""The submit form's field rules: pure functions from text to (value, reason), where reason
"" means valid. The CLI's --input uses the same strict JSON rule (runwatch.json_text).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from runwatch.config import looks_secret, mask_secret
from runwatch.json_text import JsonTextError, escape_json_controls, parse_strict_json
from runwatch.tui.format import inert


def parse_json_object(text: str, *, what: str) -> tuple[dict[str, Any] | None, str]:
    """Standard JSON only: NaN, 1e999, lone surrogates and deep nesting are field errors here,
    before anything is sent (the CLI's --input uses the same rule)."""
    if not text.strip():
        return None, ""
    try:
        value = parse_strict_json(text)
    except JsonTextError as error:
        return None, str(error)
    if not isinstance(value, dict):
        return None, f"{what} must be a JSON object {{...}}"
    return value, ""


def parse_env(text: str) -> tuple[dict[str, str], str]:
    from runwatch.api.models import ENV_NAME

    env: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        name, sep, value = stripped.partition("=")
        name = name.strip()
        if not sep:
            return env, f"line {number}: expected KEY=VALUE"
        if not ENV_NAME.match(name):
            return env, f"line {number}: {name!r} is not a valid variable name"
        if name in env:
            return env, f"line {number}: {name} is set twice"
        env[name] = value
    return env, ""


def parse_int(text: str, *, low: int, high: int | None, what: str) -> tuple[int | None, str]:
    text = text.strip()
    if not text:
        return None, ""
    try:
        value = int(text)
    except ValueError:
        return None, f"{what} must be a whole number"
    if value < low or (high is not None and value > high):
        if high is None:
            return None, f"{what} must be {low} or more"
        return None, f"{what} must be between {low} and {high}"
    return value, ""


def parse_required(text: str, *, what: str) -> tuple[str | None, str]:
    text = text.strip()
    if not text:
        return None, f"{what} is required"
    return text, ""


# -- what a form filled from an earlier run shows -------------------------------------------


def secret_env(env: Mapping[str, str]) -> dict[str, str]:
    """The variables whose values look secret: shown masked, sent as they were."""
    return {name: str(value) for name, value in env.items() if looks_secret(str(name))}


def shown_env_value(name: str, value: str, hidden: Mapping[str, str]) -> str:
    return mask_secret(value) if name in hidden else value


def unmask_env(env: dict[str, str], hidden: Mapping[str, str]) -> dict[str, str]:
    """The real value of each secret whose mask was left as shown."""
    return {
        name: hidden[name]
        if name in hidden and value == shown_env_value(name, hidden[name], hidden)
        else value
        for name, value in env.items()
    }


def json_field_text(value: Any) -> str:
    """A JSON value as the form's text area shows it: indented, controls escaped."""
    if value is None or value == "" or value == {}:
        return ""
    if isinstance(value, str):
        text = value
        try:
            value = json.loads(text)
        except ValueError:
            return inert(text)
    # JSON escapes keep every value exact; json.dumps leaves only the C1 and bidi ones to do.
    return escape_json_controls(json.dumps(value, indent=2, ensure_ascii=False))
