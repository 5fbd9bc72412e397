"""The progress a run's newest line shows: a tqdm or Keras bar, read from its last state.

UI-free and shared by the runs table, the detail pane and `runwatch logs -f` / `watch`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from runwatch.follow.line_text import plain_text


@dataclass(frozen=True, slots=True)
class Progress:
    percent: float | None  # 0..100
    done: int | None
    total: int | None
    rate: str | None  # as printed: "12.3it/s", "45ms/step"
    eta: str | None  # as printed: "00:25"
    text: str  # the bar's state as shown

    def short(self) -> str:
        """What a table cell shows: percent or step/total, then the ETA when known."""
        head = (
            f"{self.percent:.0f}%"
            if self.percent is not None
            else f"{self.done}/{self.total}"
            if self.done is not None and self.total is not None
            else ""
        )
        return f"{head} eta {self.eta}" if self.eta and head else head


# tqdm: " 45%|████▌     | 450/1000 [00:10<00:12, 44.1it/s]", and with a postfix (Lightning):
# "[00:10<00:12, 44.1it/s, v_num=0, train_loss=0.123]": the rate ends at the first comma.
_TQDM = re.compile(
    r"(?P<percent>\d{1,3})%\|[^|]*\|\s*(?P<done>\d+)/(?P<total>\d+)"
    r"(?:\s*\[(?P<elapsed>[\d:]+)<(?P<eta>[\d:?]+),\s*(?P<rate>[^\],]+?)\s*[\],])?"
)
# A step count starts where a run of digits starts (`(?<!\d)`): else a search tries `\d+/` from
# every digit of a long number, and a line of 100,000 digits took minutes (quadratic).
# Keras: "450/1000 [=====>....] - ETA: 12s - loss: 0.43"
_KERAS = re.compile(
    r"(?<!\d)(?P<done>\d+)/(?P<total>\d+)\s*\[[=>.\s]*\]"
    r"(?:\s*-\s*(?:ETA:\s*(?P<eta>[\dhms:]+)|(?P<elapsed>\d+\w*)))?"
    r"(?:\s*(?P<rate>\d+\w*/step))?"
)


# Keras 3: " 120/1875 ━━━━━━━━━━━━━━━━━━━━ 8s 5ms/step - loss: 1.05": the time after the bar
# is the ETA while the bar runs and the time taken once it is full.
_KERAS3 = re.compile(
    r"(?<!\d)(?P<done>\d+)/(?P<total>\d+)\s+━+(?:\s+(?P<time>\d[\d:]*s?))?(?:\s+(?P<rate>\d+\w*/\w+))?"
)


def parse_progress(message: str) -> Progress | None:
    """The progress the line's last state shows, or None when it shows none."""
    text = plain_text(message).strip()
    if not text:
        return None
    match = _TQDM.search(text)
    if match is not None:
        return Progress(
            percent=float(match["percent"]),
            done=int(match["done"]),
            total=int(match["total"]),
            rate=(match["rate"] or "").strip() or None,
            eta=match["eta"],
            text=text,
        )
    match = _KERAS3.search(text)
    if match is not None:
        # Keras 3 shows the time so far while the epoch runs and the epoch's time at its end.
        running = int(match["done"]) < int(match["total"])
        return _bar(match, text, eta=match["time"] if running else None)
    match = _KERAS.search(text)
    if match is not None:
        return _bar(match, text, eta=match["eta"])
    return None


def _bar(match: re.Match[str], text: str, *, eta: str | None) -> Progress:
    """A Keras bar's `done/total` step counts as a Progress."""
    done, total = int(match["done"]), int(match["total"])
    return Progress(
        percent=100.0 * done / total if total else None,
        done=done,
        total=total,
        rate=match["rate"],
        eta=eta,
        text=text,
    )
