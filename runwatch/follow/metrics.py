"""Metrics read from log lines: the numbers training code already prints, as points.

UI-free and shared by the charts, the runs table's metric column and `runwatch metrics`.
`MetricParser.feed` takes one line as stored (colours and `\\r` redraws are handled here: the
line's last state is read) and returns the points it carries.

What is read (tests/follow/metrics_corpus.py holds real lines of each, with their points):

- JSON objects (one level of nesting flattened as `outer/inner`) and Python dict reprs such
  as the Hugging Face Trainer's `{'loss': 0.45, 'learning_rate': 4.5e-05, 'epoch': 0.12}`,
  numpy 2 and torch scalar reprs included (`np.float64(0.33)`, `tensor(0.5)`);
- `name=value` pairs (logfmt, Lightning/tqdm postfixes) and `name: value` runs (Keras,
  torchvision's MetricLogger, the PyTorch examples, XGBoost's `train-rmse:0.12`);
- Megatron's `| lm loss: 7.123456E+00 |` fields, whose names are several words;
- nanoGPT's `iter 100: loss 2.3456, time 123.45ms` (names and values apart by a space, only
  after such an `iter N:` / `step N:` head, where nothing else could be meant).

The step of a point, in this order: a step field on the line (`step`, `global_step`,
`iteration`, `iter`, in any of the forms above, Megatron's `iteration 100/500`); XGBoost's
leading `[N]`; `epoch * total + done` for `Epoch: [E] [done/total]` (torchvision) and
`Epoch: E [done/total (p%)]` (PyTorch examples), which keeps counting across epochs; else the
point's place among the points of its name (0, 1, 2, ...).

Never a metric: a number with a unit glued to it (`3s`, `1ms/step`, `120MB/s`, `123.45ms`),
a time, date, version or address (`0:00:25`, `2026-12-01`, `1.2.3`, `10.0.0.1`), a count of
a fraction (`640/60000`), a port (`localhost:8080`), and names that say time, size, rate or
identity (`eta`, `time`, `data`, `runtime`, `*_per_second`, `img/s`, `max mem`, `batch size`,
`id`, `seed`, `rank`, `v_num`, ...: see `_NOT_METRIC_WORDS`). `epoch` is a metric where it is
a value of its own (JSON, dicts, `epoch=`: the Trainer's fractional progress) and not where it
heads a text line (`Epoch: 3 [...]`, where it only feeds the step).

A profile may give a regular expression for its own format (`metric_pattern`): its named
groups are metric names, a group named `step` is the step. It is tried first; a line it does
not match is read as above.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from runwatch.follow.line_text import plain_text

if TYPE_CHECKING:
    from runwatch.api.models import LogEvent

__all__ = ["STEP_KEYS", "MetricParser", "Point", "is_metric_name"]


@dataclass(frozen=True, slots=True)
class Point:
    name: str
    value: float
    step: int
    timestamp: str | None


STEP_KEYS = ("step", "global_step", "iteration", "iter")

_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
# numpy 2 and torch print scalars as `np.float64(0.33)` and `tensor(0.5, device='cuda:0')`.
_WRAPPER = r"(?:np\.\w+\(|numpy\.\w+\(|tensor\()?"
# What must not follow a value: a unit (3s, 120MB, 1ms/step), a time (0:00:25), a fraction
# (640/60000), more digits after a dot or dash (a version, an address, a date), or the `%|`
# of a tqdm bar (`Downloading: 100%|███|`).
_VALUE_END = r"(?![\w:/]|[.-]\d|[ \t]*%[ \t]*\|)"

# `name: value`, `name=value`, `'name': value`, `train-rmse:0.12`: one-word names. Found from
# the separator out, so a line with no `:`/`=` before a number costs one scan: the value is
# matched after it and the name before it, on the reversed line (a regex cannot look back
# a varying length).
# The characters a value can start with, right after its separator (a cheap first test).
_VALUE_STARTS = frozenset(" \t-+.0123456789nt")
_VALUE_AFTER = re.compile(
    r"(?P<gap>[ \t]*)" + _WRAPPER + r"(?P<value>" + _NUMBER + r")" + _VALUE_END
)
_NAME_BEFORE_REVERSED = re.compile(
    r"[ \t]*['\"]?(?P<name>[\w.@/-]*?[A-Za-z_])['\"]?(?![\w.@/'\"-])"
)
# Megatron: `| lm loss: 7.123456E+00 | grad norm: 2.345 |`: the field is the name.
_FIELD = re.compile(
    r"\|[ \t]*(?P<name>[A-Za-z][^|:]*?)[ \t]*:[ \t]*(?P<value>" + _NUMBER + r")[ \t]*(?=\|)"
)
# nanoGPT and the like: `iter 100: loss 2.3456, time 123.45ms` / `step 0, loss: 10.9`.
_HEAD = re.compile(r"[ \t]*(?i:iter|step)[ \t]+(?P<step>\d+)[ \t]*[:,][ \t]*(?P<rest>.*)")
_SEGMENT = re.compile(
    r"[ \t]*(?P<name>[A-Za-z][\w.@/-]*(?: [A-Za-z][\w.@/-]*)*)(?:[ \t]*[:=][ \t]*|[ \t]+)"
    r"(?P<value>" + _NUMBER + r")%?[ \t]*"
)
# Quoted keys of a dict repr: `'loss': 0.45`, `'grad_norm': np.float64(3.2)`.
_DICT_ITEM = re.compile(
    r"(?P<q>['\"])(?P<name>[^'\"]+)(?P=q)[ \t]*:[ \t]*"
    + _WRAPPER
    + r"(?P<value>"
    + _NUMBER
    + r")(?=[\s,})])"
)

# Where the step comes from on a text line (see the module docstring).
_STEP_FIELD = re.compile(
    r"(?i:\b(?:global_step|step|iteration|iter))\b['\"]?[ \t]*[:=]?[ \t]*(?P<step>\d+)(?![\d.])"
)
_LEADING_ROUND = re.compile(r"[ \t]*\[(?P<step>\d+)\]")
_EPOCH_OF = re.compile(
    r"(?i:epoch):?[ \t]*\[?[ \t]*(?P<epoch>\d+)[ \t]*\]?[ \t]*\[[ \t]*(?P<done>\d+)[ \t]*/[ \t]*"
    r"(?P<total>\d+)"
)


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# The words of a name that make it a time, size, rate or identity rather than a metric.
_NOT_METRIC_WORDS = _words(
    "time times timestamp runtime eta elapsed duration dt date clock sec secs second seconds "
    "ms us ns s it sps tps fps ips id ids pid tid uuid hash port host localhost ip addr rank "
    "seed version ver mem memory bytes size mb gb kb flos params parameters throughput speed "
    "consumed"
)
# Words that, after a space, make the number before them a count or a quantity with a unit
# (`using: 0 TPU cores`, `elapsed: 3 s`, `cache: 12 MB`).
_UNIT_WORDS = _words(
    "s sec secs second seconds ms us ns min mins minute minutes h hr hrs hour hours day days "
    "b kb mb gb tb kib mib gib bytes gpu gpus tpu tpus cpu cpus core cores file files worker "
    "workers node nodes sample samples example examples token tokens item items"
)
_WORD_AFTER = re.compile(r"[ \t]+(?P<word>[A-Za-z]+)\b")
_NOT_METRIC_NAMES = frozenset({"data", "v_num", "num", "world_size"})
_WORD = re.compile(r"[a-z0-9]+")
_name_verdicts: dict[str, bool] = {}


def is_metric_name(name: str) -> bool:
    """Whether `name` can name a metric: no word of it says time, size, rate or identity."""
    verdict = _name_verdicts.get(name)
    if verdict is None:
        lowered = name.lower()
        verdict = lowered not in _NOT_METRIC_NAMES and not any(
            word in _NOT_METRIC_WORDS for word in _WORD.findall(lowered)
        )
        if len(_name_verdicts) < 4096:
            _name_verdicts[name] = verdict
    return verdict


class MetricParser:
    """Turns log lines into points, remembering each metric's count for order-based steps."""

    def __init__(self, pattern: re.Pattern[str] | None = None) -> None:
        # A profile's custom format: named groups are metric names; a group named `step`
        # is the step.
        self.pattern = pattern
        self._counts: dict[str, int] = {}

    @classmethod
    def for_pattern(cls, pattern: str | None) -> MetricParser:
        """A parser for the settings' `metric_pattern` (a string, checked when the settings
        were read: `runwatch.config.files.metric_pattern_problem`)."""
        return cls(re.compile(pattern) if pattern else None)

    @property
    def names(self) -> tuple[str, ...]:
        """The metric names seen so far, in the order they first appeared."""
        return tuple(self._counts)

    def reset(self) -> None:
        """Forget the counts (order-based steps start at 0 again): before a fresh whole read."""
        self._counts.clear()

    def feed_events(self, events: Iterable[LogEvent]) -> list[Point]:
        """The points of a batch of log events, in order, each with its event's timestamp."""
        points: list[Point] = []
        for event in events:
            found = self.feed(event.message, event.raw_timestamp)
            if found:
                points.extend(found)
        return points

    def feed(self, message: str, timestamp: str | None = None) -> list[Point]:
        # The cheap rejection: every format above has a `:` or a `=` (and the line as shown
        # has no character its stored form lacks); most log lines that do (times, paths) are
        # then turned down by a few str.find calls and at most a regex match a separator.
        if ":" not in message and "=" not in message:
            return []
        text = plain_text(message)
        step, found = self._fields(text)
        if not found:
            return []
        points = []
        counts = self._counts
        for name, value in found:
            if not math.isfinite(value):
                continue
            count = counts.get(name, 0)
            counts[name] = count + 1
            points.append(Point(name, value, count if step is None else step, timestamp))
        return points

    def _fields(self, text: str) -> tuple[int | None, list[tuple[str, float]]]:
        """The step on the line (None: by order) and its (name, value) pairs."""
        if self.pattern is not None:
            match = self.pattern.search(text)
            if match is not None:
                return _custom_fields(match)
        if "{" in text:
            stripped = text.strip()
            if stripped.startswith("{") and stripped.endswith("}"):
                return _mapping_fields(stripped)
        if " | " in text or "\t| " in text:
            fields = [
                (m["name"], float(m["value"]))
                for m in _FIELD.finditer(text)
                if is_metric_name(m["name"])
            ]
            if fields:
                return _text_step(text), fields
        head = _HEAD.match(text)
        if head is not None:
            fields = _segment_fields(head["rest"])
            if fields:
                return int(head["step"]), fields
        return _pair_fields(text)


def _separators(text: str) -> list[int]:
    """Where `:` and `=` are, found with str.find (a regex scan costs ~30 ns a character)."""
    found: list[int] = []
    for mark in ":=":
        at = text.find(mark)
        while at >= 0:
            found.append(at)
            at = text.find(mark, at + 1)
    if len(found) > 1:
        found.sort()
    return found


def _pair_fields(text: str) -> tuple[int | None, list[tuple[str, float]]]:
    found: list[tuple[str, float]] = []
    reversed_text = ""
    for at in _separators(text):
        if text[at + 1 : at + 2] not in _VALUE_STARTS:
            continue
        after = _VALUE_AFTER.match(text, at + 1)
        if after is None:
            continue
        colon = text[at] == ":"
        value = after["value"]
        # `localhost:8080`, `line:12`: a colon with no space before a whole number is an
        # address or a position. XGBoost's `train-rmse:0.12` has a fraction.
        if colon and not after["gap"] and "." not in value and "e" not in value.lower():
            continue
        unit = _WORD_AFTER.match(text, after.end())
        if unit is not None and unit["word"].lower() in _UNIT_WORDS:
            continue
        if not reversed_text:
            reversed_text = text[::-1]
        before = _NAME_BEFORE_REVERSED.match(reversed_text, len(text) - at)
        if before is None:
            continue
        name = before["name"][::-1]
        lowered = name.lower()
        if lowered in STEP_KEYS or (colon and "epoch" in lowered) or not is_metric_name(name):
            continue
        found.append((name, float(value)))
    if not found:
        return None, found
    return _text_step(text), found


def _text_step(text: str) -> int | None:
    match = _STEP_FIELD.search(text)
    if match is not None:
        return int(match["step"])
    match = _LEADING_ROUND.match(text)
    if match is not None:
        return int(match["step"])
    match = _EPOCH_OF.search(text)
    if match is not None:
        return int(match["epoch"]) * int(match["total"]) + int(match["done"])
    return None


def _segment_fields(rest: str) -> list[tuple[str, float]]:
    found: list[tuple[str, float]] = []
    for segment in rest.split(","):
        match = _SEGMENT.fullmatch(segment)
        if match is not None and is_metric_name(match["name"]):
            found.append((match["name"], float(match["value"])))
    return found


def _mapping_fields(text: str) -> tuple[int | None, list[tuple[str, float]]]:
    """A JSON object (nested objects flattened one level) or a Python dict repr."""
    items: list[tuple[str, float]] = []
    value: Any = None
    if text.startswith('{"'):
        try:
            value = json.loads(text)
        except ValueError:
            value = None
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, dict):
                items += [(f"{key}/{k}", v) for k, v in item.items() if _is_number(v)]
            elif _is_number(item):
                items.append((str(key), item))
    else:
        items = [(m["name"], float(m["value"])) for m in _DICT_ITEM.finditer(text)]
    step: int | None = None
    found: list[tuple[str, float]] = []
    for name, number in items:
        if name.lower() in STEP_KEYS:
            if step is None and float(number).is_integer():
                step = int(number)
        elif is_metric_name(name):
            found.append((name, float(number)))
    return step, found


def _custom_fields(match: re.Match[str]) -> tuple[int | None, list[tuple[str, float]]]:
    step: int | None = None
    found: list[tuple[str, float]] = []
    for name, text in match.groupdict().items():
        if text is None:
            continue
        try:
            number = float(text)
        except ValueError:
            continue
        if name == "step":
            step = int(number) if math.isfinite(number) else None
        else:
            found.append((name, number))
    return step, found


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
