"""Terminal-safe output: colours when wanted, control characters made inert, lines and JSON.

Only the standard library at module level (see common.py).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from collections.abc import Sequence
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from runwatch.api.models import LogEvent


def stdout_is_tty() -> bool:
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


def use_color(stream: IO[str] | None = None) -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set (https://no-color.org)."""
    if os.environ.get("NO_COLOR"):
        return False
    target = stream if stream is not None else sys.stdout
    try:
        return target.isatty()
    except (AttributeError, ValueError):
        return False


# The colour words of the shared status table (api.models.STATUS_STYLES) as ANSI codes.
_ANSI_COLORS = {"green": "32", "red": "31", "cyan": "36", "yellow": "33", "magenta": "35"}


def paint_status(status: str, text: str | None = None, *, color: bool) -> str:
    from runwatch.api.models import status_style

    shown = status if text is None else text
    if not color:
        return shown
    words = status_style(status)[1].split()
    code = next((_ANSI_COLORS[word] for word in words if word in _ANSI_COLORS), "2")
    return f"\x1b[{code}m{shown}\x1b[0m"


# CSI, OSC (ended by BEL or ST), DCS/SOS/PM/APC strings, the two-byte escapes, and 8-bit CSI.
_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"
    r"|\x1b[PX^_][^\x1b]*(?:\x1b\\)?"
    r"|\x1b[ -/]*[0-~]"
    r"|\x9b[0-?]*[ -/]*[@-~]"
)
# Every C0/C1 control but TAB, DEL, and the bidi overrides that can reorder what is shown.
_CONTROLS = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _escape_control(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def inert(text: str) -> str:
    """`text` made safe for a terminal: escape sequences removed, other controls escaped.

    A log line is written by whatever code the run executes; on a terminal it must not be able
    to move the cursor, retitle the window, rewrite the clipboard (OSC 52) or hide itself.
    """
    if text.isprintable():
        return text
    return _CONTROLS.sub(_escape_control, _ESCAPES.sub("", text))


class LineWriter:
    """Writes batches of lines with one write and one flush per batch.

    On a terminal the lines are made inert; piped output is left byte-for-byte as the run
    wrote it. Text that cannot be encoded is replaced rather than crashing the follow.

    On a terminal a line redrawn with `\\r` (a tqdm or Keras bar) shows its last state, and
    progress-bar states stored one after another (the engine stores a redrawn line as it
    changes) rewrite one "live" line in place instead of scrolling; the next other line
    leaves the bar's last state standing above it. `finish()` ends a live line.
    """

    def __init__(self, stream: IO[str] | None = None, *, sanitize: bool | None = None) -> None:
        self.stream = stream if stream is not None else sys.stdout
        try:
            tty = self.stream.isatty()
        except (AttributeError, ValueError):
            tty = False
        self.sanitize = tty if sanitize is None else sanitize
        # Live lines are rewritten in place only on a terminal, whatever `sanitize` says.
        self.live = tty
        self._buffer: IO[bytes] | None = getattr(self.stream, "buffer", None)
        self._encoding = getattr(self.stream, "encoding", None) or "utf-8"
        # Whether the cursor sits at the end of a live line (no newline after it yet).
        self._live = False

    def write_lines(self, lines: Sequence[str]) -> None:
        if not lines:
            return
        if self.sanitize:
            lines = [inert(line) for line in lines]
        text = "\n".join(lines)
        text += "\n"
        if self._live:
            text = "\n" + text
            self._live = False
        self._write(text)

    def write_live(self, line: str, *, final: bool = False) -> None:
        """A line that replaces the previous live line on a terminal; elsewhere, a line.

        `final`: the last state, written whole (not cut to the width) and left standing.
        """
        if not self.live:
            self.write_lines([line])
            return
        shown = inert(line) if self.sanitize else line
        if final:
            self._write(("\r\x1b[2K" if self._live else "") + shown + "\n")
            self._live = False
            return
        self._write(self._live_text(shown))

    def finish(self) -> None:
        """End a live line, so what follows (the shell prompt) starts on a line of its own."""
        if self._live:
            self._live = False
            self._write("\n")

    def _live_text(self, line: str) -> str:
        # Cut to the terminal's width: a wrapped line cannot be rewritten by `\r`.
        width = shutil.get_terminal_size().columns - 1
        shown = line if len(line) <= width else line[: max(width - 1, 0)] + "…"
        prefix = "\r\x1b[2K" if self._live else ""
        self._live = True
        return prefix + shown

    def _write(self, text: str) -> None:
        if self._buffer is not None:
            self.stream.flush()
            self._buffer.write(text.encode(self._encoding, "replace"))
            self._buffer.flush()
        else:
            self.stream.write(text)
            self.stream.flush()

    def write_events(self, events: Sequence[LogEvent], *, timestamps: bool = False) -> None:
        if not self.sanitize:
            if timestamps:
                self.write_lines([f"{e.raw_timestamp or '-'} {e.message}" for e in events])
            else:
                self.write_lines([e.message for e in events])
            return
        self._write_shown(events, timestamps)

    def _write_shown(self, events: Sequence[LogEvent], timestamps: bool) -> None:
        """Events as a terminal shows them: last redraw states, bar states in place."""
        from runwatch.follow.line_text import last_state
        from runwatch.follow.progress import parse_progress

        parts: list[str] = []
        for event in events:
            line = inert(last_state(event.message))
            if timestamps:
                # The time is the server's text too: as inert as the message.
                line = f"{inert(event.raw_timestamp or '-')} {line}"
            if self.live and parse_progress(line) is not None:
                parts.append(self._live_text(line))
                continue
            parts.append(("\n" if self._live else "") + line + "\n")
            self._live = False
        if parts:
            self._write("".join(parts))


def dump_json(value: Any) -> str:
    """JSON for stdout: readable unicode, but no character a terminal would act on.

    json.dumps escapes the C0 controls itself; the rest (DEL, C1 such as the one-byte CSI,
    bidi) get `\\uXXXX` escapes, so a parser still reads exactly what the server sent.
    """
    from runwatch.json_text import escape_json_controls

    return escape_json_controls(json.dumps(value, ensure_ascii=False, default=str))
