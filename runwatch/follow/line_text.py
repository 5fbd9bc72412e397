"""A log line's text as a reader sees it: the last state of a redrawn line, escapes removed.

The log pane's filter and search, the level recogniser, the metrics parser and the CLI all
read lines as shown, not as stored: a tqdm bar stores every `\r` state of its line, and a
coloured logger wraps its words in SGR sequences that no pattern should have to skip.
UI-free: the TUI paints colours from the same `ESCAPE` pattern, the others drop them.
"""

from __future__ import annotations

import re

# CSI (7- and 8-bit: parameters, intermediates, final byte), OSC (ended by BEL or ST), the
# DCS/SOS/PM/APC strings, and the two-byte escapes.
ESCAPE = re.compile(
    r"(?:\x1b\[|\x9b)([0-?]*)([ -/]*)([@-~])"
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"
    r"|\x1b[PX^_][^\x1b]*(?:\x1b\\)?"
    r"|\x1b[ -/]*[0-~]"
)
# What is left of control characters once the escapes are gone (tab kept: it separates
# fields in XGBoost and PyTorch lines).
_CONTROLS = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")


def redraw_states(message: str) -> list[str]:
    """The states of a line rewritten with carriage returns, oldest first (empty ones dropped).

    A trailing `\r` (CRLF line ends) is no redraw at all.
    """
    return [state for state in message.split("\r") if state.strip("\n")]


def last_state(message: str) -> str:
    """What a terminal leaves of a line rewritten with carriage returns."""
    if "\r" not in message:
        return message
    states = redraw_states(message)
    return states[-1] if states else ""


def plain_text(message: str) -> str:
    """The line as shown, without colour: last redraw state, escapes and controls removed."""
    text = last_state(message)
    if "\x1b" in text or "\x9b" in text:
        text = ESCAPE.sub("", text)
    if not text.isprintable():
        text = _CONTROLS.sub("", text)
    return text
