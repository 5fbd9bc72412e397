"""How a log line is shown: the last state of a redrawn line, SGR colours, nothing else live.

One function, `styled_message`, turns a message from the server into the text the log pane
holds and the colours to paint on it; every other escape sequence and control character is
made inert.
"""

from __future__ import annotations

import re

from rich.color import Color
from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from rich.text import Text

from runwatch.follow.line_text import ESCAPE, redraw_states
from runwatch.tui.format import inert

# A line longer than this is shown cut, with a note: every frame, search and wrap measures
# the lines on screen, and one 3 MB line made each key press take seconds. `x` (export)
# still writes the whole line.
MAX_SHOWN_CHARS = 10_000


def overwritten(message: str) -> str:
    """What a terminal leaves of a line rewritten with carriage returns, and how often.

    A progress bar (tqdm and the like) redraws one line with `\r` until it ends it with a
    newline, so the log gets every state of the bar in one line; shown whole, that is a
    screenful of repeats. The pane shows the last state (`line_text`'s rule, shared with
    every other reader of the line) and says how many came before (`x` exports them all).
    """
    states = redraw_states(message)
    if len(states) <= 1:
        return states[0] if states else ""
    earlier = len(states) - 1
    plural = "s" if earlier > 1 else ""
    return f"{states[-1]}  [{earlier:,} earlier state{plural} overwritten by \\r]"


Span = tuple[int, int, Style]

_SGR_PARAMS = re.compile(r"[0-9;]{0,64}")


def styled_message(message: str) -> tuple[str, list[Span]]:
    """The message as the pane shows it, and the colours its SGR sequences asked for.

    The last state of a redrawn line (see `overwritten`); SGR colours (16, 256 and 24-bit,
    foreground and background) and bold become styles; every other escape sequence (cursor
    moves, screen clears, titles, hyperlinks, clipboard writes) is removed whole, and what is
    left of control characters is dropped (`inert`). Cut at MAX_SHOWN_CHARS.
    """
    if "\r" in message:
        message = overwritten(message)
    if "\x1b" not in message and "\x9b" not in message:
        if len(message) <= MAX_SHOWN_CHARS:
            return inert(message), []
        rest = len(message) - MAX_SHOWN_CHARS
        return inert(message[:MAX_SHOWN_CHARS]) + _cut_note(rest), []
    parts: list[str] = []
    spans: list[Span] = []
    length = 0
    position = 0
    state = _Sgr()
    for match in ESCAPE.finditer(message):
        length = _add_chunk(message[position : match.start()], state, parts, spans, length)
        position = match.end()
        if match.group(3) == "m" and not match.group(2):
            state.apply(match.group(1))
    length = _add_chunk(message[position:], state, parts, spans, length)
    text = "".join(parts)
    if length > MAX_SHOWN_CHARS:
        text = text[:MAX_SHOWN_CHARS] + _cut_note(length - MAX_SHOWN_CHARS)
        spans = [(a, min(b, MAX_SHOWN_CHARS), st) for a, b, st in spans if a < MAX_SHOWN_CHARS]
    return text, spans


def styled_messages(messages: list[str]) -> tuple[list[str], dict[int, list[Span]]]:
    """`styled_message` of each message: the texts, and the colours of those that have any
    by their place in `messages`.

    Most batches are plain printable lines, which `styled_message` leaves as they are: one
    test over the whole batch, at C speed, instead of a call a line.
    """
    if "".join(messages).isprintable() and max(map(len, messages), default=0) <= MAX_SHOWN_CHARS:
        return messages, {}
    texts: list[str] = []
    colours: dict[int, list[Span]] = {}
    for place, message in enumerate(messages):
        text, spans = styled_message(message)
        if spans:
            colours[place] = spans
        texts.append(text)
    return texts, colours


def shown_message(message: str) -> str:
    """The message's text as the pane shows it (see `styled_message`)."""
    return styled_message(message)[0]


def _cut_note(rest: int) -> str:
    return f" … [{rest:,} more characters: x exports the log]"


def _add_chunk(raw: str, state: _Sgr, parts: list[str], spans: list[Span], length: int) -> int:
    chunk = inert(raw)
    if not chunk:
        return length
    parts.append(chunk)
    style = state.style()
    if style is not None:
        spans.append((length, length + len(chunk), style))
    return length + len(chunk)


class _Sgr:
    """The colours and boldness SGR parameters have set so far; nothing else is honoured."""

    def __init__(self) -> None:
        self.fg: Color | None = None
        self.bg: Color | None = None
        self.bold = False

    def style(self) -> Style | None:
        if self.fg is None and self.bg is None and not self.bold:
            return None
        return Style(color=self.fg, bgcolor=self.bg, bold=self.bold or None)

    def apply(self, params: str) -> None:
        if not _SGR_PARAMS.fullmatch(params):
            return  # private (`?`, `<`) or overlong parameters: not a colour
        codes = [int(code) if code else 0 for code in params.split(";")]
        index = 0
        while index < len(codes):
            code = codes[index]
            index += 1
            if code == 0:
                self.fg = self.bg = None
                self.bold = False
            elif code == 1:
                self.bold = True
            elif code == 22:
                self.bold = False
            elif 30 <= code <= 37 or 90 <= code <= 97:
                self.fg = Color.from_ansi(code - 30 if code < 90 else code - 82)
            elif 40 <= code <= 47 or 100 <= code <= 107:
                self.bg = Color.from_ansi(code - 40 if code < 100 else code - 92)
            elif code == 39:
                self.fg = None
            elif code == 49:
                self.bg = None
            elif code in (38, 48):
                color, index = _extended_color(codes, index)
                if color is not None and code == 38:
                    self.fg = color
                elif color is not None:
                    self.bg = color


def _extended_color(codes: list[int], index: int) -> tuple[Color | None, int]:
    """`5;N` (256 colours) or `2;R;G;B` after a 38/48; (None, where to go on) otherwise."""
    kind = codes[index] if index < len(codes) else None
    if kind == 5 and index + 1 < len(codes):
        number = codes[index + 1]
        return (Color.from_ansi(number) if number <= 255 else None), index + 2
    if kind == 2 and index + 3 < len(codes):
        red, green, blue = codes[index + 1 : index + 4]
        if max(red, green, blue) <= 255:
            return Color.from_rgb(red, green, blue), index + 4
        return None, index + 4
    return None, len(codes)


def coloured_segments(
    message: str,
    spans: list[Span],
    highlight: Style | None,
    term: str,
    console: Console,
    base: Style | None = None,
) -> list[Segment]:
    """A line with its SGR colours (over `base`, its level's), the search term highlighted."""
    text = Text(message, style=base or "", end="", no_wrap=True)
    for start, end, style in spans:
        text.stylize(style, start, end)
    if highlight is not None:
        lowered, start = message.lower(), 0
        if len(lowered) == len(message):
            while (found := lowered.find(term, start)) >= 0:
                text.stylize(highlight, found, found + len(term))
                start = found + len(term)
    return list(text.render(console))


def highlighted_segments(
    message: str, term: str, style: Style, base: Style | None = None
) -> list[Segment]:
    """A line without colours of its own, the search term highlighted."""
    lowered = message.lower()
    segments: list[Segment] = []
    start = 0
    size = len(term)
    # lower() can change lengths for a few scripts; fall back to no highlight then.
    if len(lowered) != len(message):
        return [Segment(message, base)]
    style = base + style if base is not None else style
    while True:
        found = lowered.find(term, start)
        if found < 0:
            break
        if found > start:
            segments.append(Segment(message[start:found], base))
        segments.append(Segment(message[found : found + size], style))
        start = found + size
    if start < len(message):
        segments.append(Segment(message[start:], base))
    return segments
