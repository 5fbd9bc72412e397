"""What the dashboard fuzz (tests/tui/test_fuzz.py) counts as a problem, and how it shows one.

The app is watched through its public surface only: every message it handles (a worker that
failed, a toast), the errors it logs under the `runwatch` logger, and the exception Textual
re-raises when the app died of one.
"""

from __future__ import annotations

import contextlib
import logging
import re
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from rich.errors import MarkupError
from rich.text import Text
from textual.message import Message
from textual.notifications import Notify
from textual.worker import Worker, WorkerState

SHOWN_INPUTS = 30

# -- what is found --------------------------------------------------------------------------


@dataclass
class Finding:
    what: str
    detail: str
    where: str
    seed: str
    inputs: list[str]

    @property
    def key(self) -> tuple[str, str]:
        return (self.what, self.where)

    def report(self) -> str:
        shown = "\n".join(f"    {line}" for line in self.inputs[-SHOWN_INPUTS:])
        return (
            f"{self.what}: {self.detail}\n  at {self.where}"
            f"\n  replay: RUNWATCH_FUZZ_SEED={self.seed}"
            f"\n  last {min(len(self.inputs), SHOWN_INPUTS)} of {len(self.inputs)} inputs:\n{shown}"
        )


def where_raised(error: BaseException) -> str:
    """The innermost frames of the traceback: in runwatch if it passes there, else the last."""
    frames = traceback.extract_tb(error.__traceback__)
    ours = [f for f in frames if "/runwatch/" in f.filename and "/tests/" not in f.filename]
    pick = ours[-1:] + frames[-1:] if ours else frames[-2:]
    return " <- ".join(f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in reversed(pick))


TRACEBACK_LIKE = re.compile(r"Traceback|File \"|\b\w*(Error|Exception)\b(: |\(|$)")


@dataclass
class Watcher:
    """Collects problems reported by the app between two checks."""

    typed: set[str] = field(default_factory=set)
    problems: list[tuple[str, str, str]] = field(default_factory=list)

    def hook(self, message: Message) -> None:
        if isinstance(message, Worker.StateChanged) and message.state == WorkerState.ERROR:
            error = message.worker.error
            assert error is not None
            self.problems.append(
                (
                    "worker failed",
                    f"{message.worker.description!r}: {type(error).__name__}: {error}"[:300],
                    where_raised(error),
                )
            )
        elif isinstance(message, Notify):
            self.check_toast(
                message.notification.title,
                message.notification.message,
                message.notification.markup,
            )

    def check_toast(self, title: str, text: str, markup: bool) -> None:
        shown = f"{title}: {text}" if title else text
        if TRACEBACK_LIKE.search(shown) or "internal error" in title.lower():
            self.problems.append(("traceback-like toast", shown[:300], f"toast {title!r}"))
        if markup:
            typed = [t for t in self.typed if any(c in t for c in "[]\\") and t in text]
            if typed:
                try:
                    plain = Text.from_markup(text).plain
                except MarkupError as error:
                    plain = f"MarkupError {error}"
                self.problems.append(
                    (
                        "typed text parsed as markup in a toast",
                        f"{text[:150]!r} shows {plain[:150]!r}",
                        f"toast {title!r}",
                    )
                )


class ErrorLog(logging.Handler):
    """Errors the app logs (a failed worker is logged by the screen before its toast)."""

    def __init__(self, watcher: Watcher) -> None:
        super().__init__(logging.ERROR)
        self.watcher = watcher

    def emit(self, record: logging.LogRecord) -> None:
        error = record.exc_info[1] if record.exc_info else None
        where = where_raised(error) if error else f"{record.name} {record.pathname}:{record.lineno}"
        self.watcher.problems.append(("error logged", record.getMessage()[:300], where))


@contextlib.contextmanager
def logged_errors(watcher: Watcher) -> Iterator[None]:
    handler = ErrorLog(watcher)
    logger = logging.getLogger("runwatch")
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)
