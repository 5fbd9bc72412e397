"""What the dashboard fuzz (tests/tui/test_fuzz.py) feeds the app: one input at a time.

Keys come from the bindings of whatever is mounted when the input is chosen (the app's, every
screen's and every widget's `BINDINGS`, plus `App.active_bindings`), gathered at run time and
kept for the rest of the run, so a key added to any pane or screen is fuzzed without touching
this file. Text is what a user types or pastes into a filter, a search or the submit form:
markup- and regex-looking fragments, control characters, JSON that standard parsers refuse,
very long and deeply nested strings. Only the app's public surface is used: keys, pastes,
clicks at screen positions or on visible widgets, terminal resizes and waits.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from textual.app import App
from textual.binding import Binding
from textual.widget import Widget
from textual.widgets import Input, TextArea

# Actions that end the app: choosing them is a legitimate way out, not a finding, so the fuzz
# does not pick their keys (a quit that happens anyway ends the episode; see test_fuzz.py).
QUIT_ACTIONS = frozenset({"quit", "app.quit"})

# Keys every user presses whether or not a binding names them.
COMMON_KEYS = (
    "enter",
    "escape",
    "tab",
    "shift+tab",
    "backspace",
    "delete",
    "space",
    "up",
    "down",
    "left",
    "right",
    "pageup",
    "pagedown",
    "home",
    "end",
    "ctrl+a",
    "ctrl+e",
    "ctrl+k",
    "ctrl+u",
    "ctrl+w",
    "ctrl+c",
    "ctrl+p",
    "ctrl+s",
    "ctrl+r",
    "ctrl+z",
    "ctrl+x",
    "ctrl+v",
)

# Fragments a user types into a filter, a search or a form field that a markup or regex
# parser would read as syntax.
MARKUP_AND_REGEX = (
    "[",
    "]",
    "[/]",
    "[b]",
    "[/b]",
    "[b]bold",
    "v[/]",
    "[@click=app.quit]x[/]",
    "[@click=app.bell]",
    "[link=https://example.com]x",
    "[red on blue]",
    "[$accent]",
    "\\[",
    "\\",
    "(",
    ")",
    "*",
    "+",
    "?",
    ".*",
    "(?P<x>",
    "[a-",
    "{",
    "}",
    "$",
    "^",
    "|",
    "%s",
    "{0}",
    "\x1b[31mred\x1b[0m",
)

JSON_LIKE = (
    '{"a": NaN}',
    '{"a": Infinity}',
    "1e999",
    "-1e999",
    '{"a": 1',
    "null",
    "[]",
    '"just a string"',
    '{"a": "\\ud800"}',
    '{"a": 1, "a": 2}',
    "0x10",
    "FOO=bar",
    "=",
    "A=1\nB=2",
    "-1",
    "99999999999999999999",
)

CONTROL_CHARACTERS = "".join(chr(c) for c in range(32) if chr(c) not in "\n") + "\x7f\u2028\u200b"

WORDS = (
    "run",
    "RUNNING",
    "FAILED",
    "SUCCEEDED",
    "queued",
    "train",
    "demo",
    "tick",
    "error",
    "日本語",
    "🙂",
    "é",
    " ",
)


def nested_json(rng: random.Random) -> str:
    depth = rng.choice([50, 500, 3000])
    if rng.random() < 0.5:
        return "[" * depth + "]" * depth
    return '{"a":' * depth + "1" + "}" * depth


def random_text(rng: random.Random) -> str:
    """A short string to type key by key."""
    parts: list[str] = []
    for _ in range(rng.randint(1, 4)):
        pick = rng.random()
        if pick < 0.45:
            parts.append(rng.choice(MARKUP_AND_REGEX))
        elif pick < 0.6:
            parts.append(rng.choice(JSON_LIKE))
        elif pick < 0.8:
            parts.append(rng.choice(WORDS))
        else:
            parts.append("".join(chr(rng.randint(33, 126)) for _ in range(rng.randint(1, 6))))
    # Typed text goes key by key: control characters are keys (ctrl+...), not characters, so
    # they reach the app through pastes instead.
    return "".join(ch for ch in "".join(parts) if ch.isprintable())


def random_paste(rng: random.Random) -> str:
    """A pasted string: anything, including control characters and very long or nested text."""
    pick = rng.random()
    if pick < 0.2:
        return nested_json(rng)
    if pick < 0.35:
        unit = rng.choice(MARKUP_AND_REGEX + WORDS)
        return (unit * (rng.choice([1_000, 20_000]) // max(1, len(unit))))[:20_000]
    if pick < 0.55:
        return "".join(rng.choice(CONTROL_CHARACTERS + "ab[]\n") for _ in range(rng.randint(1, 40)))
    if pick < 0.75:
        return rng.choice(JSON_LIKE)
    return random_text(rng) + rng.choice(["", "\n", "\r\n", "\t", "\n" + random_text(rng)])


# -- inputs --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One input: `kind` says which, `args` its values; `describe()` is how failures show it."""

    kind: str  # press, type, paste, click, double_click, resize, wait, engine
    args: tuple[Any, ...] = ()
    note: str = ""

    def describe(self) -> str:
        shown = ", ".join(_short_repr(arg) for arg in self.args)
        return f"{self.kind}({shown}){f'  # {self.note}' if self.note else ''}"


def _short_repr(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else f"{text[:60]}…{text[-10:]} ({len(str(value))} chars)"


# -- bindings at run time ------------------------------------------------------------------


def binding_keys(bindings: Iterable[Any]) -> set[str]:
    """Keys of a BINDINGS list whose action does not quit the app."""
    keys: set[str] = set()
    for entry in bindings:
        if isinstance(entry, Binding):
            key, action = entry.key, entry.action
        else:
            key, action = entry[0], entry[1]
        if action in QUIT_ACTIONS:
            continue
        keys.update(part.strip() for part in key.split(",") if part.strip())
    return keys


def class_binding_keys(node: object) -> set[str]:
    """Every non-quitting key in the BINDINGS of `node`'s class and its bases."""
    keys: set[str] = set()
    for cls in type(node).__mro__:
        keys |= binding_keys(cls.__dict__.get("BINDINGS", ()))
    return keys


def quit_keys(app: App[Any]) -> set[str]:
    """Keys that quit right now (they must not be typed as text outside an input)."""
    return {
        key for key, active in app.active_bindings.items() if active.binding.action in QUIT_ACTIONS
    }


def text_focused(app: App[Any]) -> bool:
    return isinstance(app.focused, Input | TextArea)


def visible_widgets(app: App[Any]) -> list[Widget]:
    """Widgets of the top screen with a visible area on the screen."""
    try:
        screen = app.screen
    except Exception:
        return []
    found = []
    for widget in screen.walk_children(Widget, with_self=False):
        region = widget.region
        if widget.display and region.width > 0 and region.height > 0:
            found.append(widget)
    return found


@dataclass
class InputMaker:
    """Chooses the next input from a seeded generator and the app as it is now."""

    rng: random.Random
    keys: set[str] = field(default_factory=lambda: set(COMMON_KEYS))

    def learn(self, app: App[Any]) -> None:
        """Add the keys bound anywhere in the current screen stack (kept for later episodes)."""
        self.keys |= class_binding_keys(app)
        for screen in app.screen_stack:
            self.keys |= class_binding_keys(screen)
            for node in screen.walk_children(with_self=False):
                self.keys |= class_binding_keys(node)
        self.keys |= {
            key
            for key, active in app.active_bindings.items()
            if active.binding.action not in QUIT_ACTIONS
        }

    def next(self, app: App[Any]) -> Step:
        rng = self.rng
        pick = rng.random()
        if pick < 0.40:
            active = sorted(
                key
                for key, binding in app.active_bindings.items()
                if binding.binding.action not in QUIT_ACTIONS
            )
            pool = active if active and rng.random() < 0.6 else sorted(self.keys)
            return Step("press", (rng.choice(pool),))
        if pick < 0.47:
            return Step("press", ("escape", "escape", "escape"), "escape burst")
        if pick < 0.62:
            return Step("type", (random_text(rng),))
        if pick < 0.70:
            return Step("paste", (random_paste(rng),))
        if pick < 0.80:
            return self._click(app)
        if pick < 0.86:
            return Step("resize", (rng.randint(60, 200), rng.randint(20, 60)))
        return Step("wait", (rng.choice([0.02, 0.1, 0.3, 0.6, 1.2]),))

    def _click(self, app: App[Any]) -> Step:
        rng = self.rng
        kind = "double_click" if rng.random() < 0.2 else "click"
        widgets = visible_widgets(app)
        if widgets and rng.random() < 0.7:
            widget = rng.choice(widgets)
            region = widget.region
            x = region.x + rng.randrange(region.width)
            y = region.y + rng.randrange(region.height)
            return Step(kind, (x, y), f"on {type(widget).__name__}#{widget.id}")
        width, height = app.size
        return Step(kind, (rng.randrange(max(1, width)), rng.randrange(max(1, height))))
