"""What a request carries, read strictly: page tokens, JSON bodies, booleans and times."""

from __future__ import annotations

import base64
import binascii
import json
import math
from typing import Any

from runwatch.engine.common import parse_time_us
from runwatch.engine.responses import bad_request

MAX_TOKEN = 200
# Arrays and objects in a request body: deep enough for any real input, far from the
# recursion limit of the parsers and encoders the value goes through.
MAX_DEPTH = 64


def encode_token(*parts: object) -> str:
    raw = ".".join(str(p) for p in parts).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(field: str, token: str, kind: str, owner: str) -> int:
    """The position in a token of `kind` issued for `owner` (a run or a deployment), or 400."""
    if len(token) > MAX_TOKEN:
        raise bad_request(field, "invalid token")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode("ascii")
        token_kind, token_owner, position = raw.split(".")
        value = int(position)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise bad_request(field, "invalid token") from None
    if token_kind != kind:
        raise bad_request(field, "token of another kind")
    if token_owner != owner:
        raise bad_request(field, "token of another run or deployment")
    if not 0 <= value < 2**62:
        raise bad_request(field, "invalid token")
    return value


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("number out of range")
    return value


def parse_body(raw: bytes) -> Any:
    """A request body as strict JSON, or a 400: what is stored must be served back as JSON.

    Python's json accepts NaN and Infinity (and turns 1e400 into inf), which no JSON parser
    reads back; lone surrogates (`"\\ud800"`) cannot be encoded as UTF-8 in the response; and
    nesting deep enough to exhaust the recursion limit fails in json.dumps or the handler.
    """
    if not raw.strip():
        return None
    try:
        data = json.loads(raw, parse_constant=_reject_constant, parse_float=_finite_float)
    except RecursionError:
        raise bad_request("body", f"nested deeper than {MAX_DEPTH} levels") from None
    except (ValueError, UnicodeDecodeError):
        raise bad_request("body", "not valid JSON") from None
    check_json_value(data)
    return data


def check_json_value(data: Any) -> None:
    """At most MAX_DEPTH levels of arrays and objects, and only UTF-8-encodable strings."""
    stack: list[tuple[Any, int]] = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            _check_text(value)
        elif isinstance(value, dict | list):
            if depth >= MAX_DEPTH:
                raise bad_request("body", f"nested deeper than {MAX_DEPTH} levels")
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                if isinstance(key, str):
                    _check_text(key)
                stack.append((item, depth + 1))


def _check_text(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise bad_request("body", "a string holds a lone surrogate (not UTF-8)") from None


def parse_bool(field: str, value: str | None) -> bool | None:
    if value is None:
        return None
    lowered = value.strip().lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise bad_request(field, f"expected True or False, got {value[:20]!r}")


def parse_time_param(field: str, value: str | None, *, end: bool) -> int | None:
    if value is None or value == "":
        return None
    parsed = parse_time_us(value)
    if parsed is None:
        raise bad_request(field, "expected a UTC time like 2018-01-01T00:00:00")
    if end and "." not in value:
        # The SDK sends whole seconds: an end time includes the whole of its second.
        parsed += 999_999
    return parsed
