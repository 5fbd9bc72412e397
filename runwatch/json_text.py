"""JSON text for a terminal, shared by the command line and the dashboard (stdlib only)."""

from __future__ import annotations

import re

# What json.dumps(ensure_ascii=False) leaves raw that a terminal would act on: DEL, the C1
# controls, the line separators and the bidi controls. They only occur inside JSON strings,
# where the \u escape of the same code point is the same value.
_JSON_UNSAFE = re.compile(r"[\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def escape_json_controls(text: str) -> str:
    """JSON text from json.dumps(ensure_ascii=False) with no character a terminal acts on."""
    return _JSON_UNSAFE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)
