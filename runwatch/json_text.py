"""JSON text for a terminal, shared by the command line and the dashboard (stdlib only)."""

from __future__ import annotations

import json
import math
import re
from typing import Any

# What json.dumps(ensure_ascii=False) leaves raw that a terminal would act on: DEL, the C1
# controls, the line separators and the bidi controls. They only occur inside JSON strings,
# where the \u escape of the same code point is the same value.
_JSON_UNSAFE = re.compile(r"[\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def escape_json_controls(text: str) -> str:
    """JSON text from json.dumps(ensure_ascii=False) with no character a terminal acts on."""
    return _JSON_UNSAFE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


# The local engine refuses deeper bodies, and a structure nested deep enough to reach Python's
# recursion limit fails later, wherever it is dumped or shown, rather than here.
MAX_DEPTH = 64


class JsonTextError(ValueError):
    """Text that is not strict JSON; the message is one line for the user."""


def _no_constant(name: str) -> Any:
    raise JsonTextError(f"invalid JSON: {name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise JsonTextError(f"invalid JSON: the number {text[:20]} is out of range")
    return value


def parse_strict_json(text: str) -> Any:
    """`text` as JSON that any parser reads back the same, or JsonTextError saying why not.

    Python's json takes NaN and Infinity, turns 1e999 into inf (none of them JSON, and
    json.dumps then fails or writes them back), and decodes `"\\ud800"` to a lone surrogate
    that cannot be sent as UTF-8. Each is refused here, as is nesting deeper than MAX_DEPTH.
    """
    try:
        value = json.loads(text, parse_constant=_no_constant, parse_float=_finite_float)
    except json.JSONDecodeError as error:
        raise JsonTextError(
            f"invalid JSON at line {error.lineno} col {error.colno}: {error.msg}"
        ) from None
    except RecursionError:
        raise JsonTextError(f"invalid JSON: nested deeper than {MAX_DEPTH} levels") from None
    except JsonTextError:
        raise
    except ValueError:
        # The one ValueError left: an integer longer than Python converts (4300 digits).
        raise JsonTextError("invalid JSON: a number has too many digits") from None
    _check_depth(value)
    try:
        # Depth is bounded now, so the (recursive) encoder is safe to run.
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as error:
        code = ord(error.object[error.start])
        raise JsonTextError(
            f"invalid JSON: a string holds a lone surrogate (\\u{code:04x}), which is not UTF-8"
        ) from None
    return value


def _check_depth(value: Any) -> None:
    level = [value]
    for _ in range(MAX_DEPTH + 1):
        containers = [item for item in level if isinstance(item, dict | list)]
        if not containers:
            return
        level = [
            child
            for container in containers
            for child in (container.values() if isinstance(container, dict) else container)
        ]
    raise JsonTextError(f"invalid JSON: nested deeper than {MAX_DEPTH} levels")
