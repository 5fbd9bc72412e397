"""The metrics parser against real lines of each framework (tests/follow/metrics_corpus.py)."""

from __future__ import annotations

import math
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runwatch.api.models import LogEvent
from runwatch.follow.metrics import MetricParser, Point, is_metric_name
from tests.follow.metrics_corpus import CORPUS, NEGATIVES


@pytest.mark.parametrize("fmt", sorted(CORPUS))
def test_corpus_lines_give_their_points(fmt: str) -> None:
    parser = MetricParser()
    for line, expected in CORPUS[fmt]:
        got = [(p.name, p.value, p.step) for p in parser.feed(line, "T")]
        assert [(n, s) for n, _, s in got] == [(n, s) for n, _, s in expected], line
        for (_, value, _), (_, want, _) in zip(got, expected, strict=True):
            assert math.isclose(value, want, rel_tol=1e-9), line


@pytest.mark.parametrize("line", NEGATIVES)
def test_times_sizes_rates_and_ids_are_no_metrics(line: str) -> None:
    assert MetricParser().feed(line) == []


def test_points_carry_the_timestamp_and_count_per_name() -> None:
    parser = MetricParser()
    events = [
        LogEvent.from_wire({"message": "loss=0.5", "timestamp": "2026-12-01T10:00:00Z"}),
        LogEvent.from_wire({"message": "nothing here", "timestamp": "2026-12-01T10:00:01Z"}),
        LogEvent.from_wire({"message": "loss=0.4 acc=0.7", "timestamp": "2026-12-01T10:00:02Z"}),
    ]
    assert parser.feed_events(events) == [
        Point("loss", 0.5, 0, "2026-12-01T10:00:00Z"),
        Point("loss", 0.4, 1, "2026-12-01T10:00:02Z"),
        Point("acc", 0.7, 0, "2026-12-01T10:00:02Z"),
    ]
    assert parser.names == ("loss", "acc")
    parser.reset()
    assert parser.names == ()
    assert parser.feed("loss=0.3")[0].step == 0


def test_a_profile_pattern_reads_its_own_format_first() -> None:
    pattern = re.compile(r"E(?P<step>\d+) L=(?P<loss>[\d.]+) A=(?P<acc>[\d.]+)")
    parser = MetricParser.for_pattern(pattern.pattern)
    assert MetricParser.for_pattern(None).pattern is None
    assert parser.feed("E12 L=0.5 A=0.75") == [
        Point("loss", 0.5, 12, None),
        Point("acc", 0.75, 12, None),
    ]
    # Lines it does not match are read by the built-in formats.
    assert parser.feed("loss=0.25") == [Point("loss", 0.25, 1, None)]


def test_non_finite_values_and_step_keys_are_no_points() -> None:
    parser = MetricParser()
    assert parser.feed('{"step": 3, "loss": NaN, "acc": 0.5}') == [Point("acc", 0.5, 3, None)]
    assert parser.feed("step=4") == []


def test_names_that_say_time_size_rate_or_identity() -> None:
    for name in ("eta", "train_runtime", "img/s", "max mem", "batch size", "v_num", "data"):
        assert not is_metric_name(name), name
    for name in ("loss", "val_acc", "learning rate", "grad_norm", "mfu", "acc1", "lm loss"):
        assert is_metric_name(name), name


LINE_PIECES = [
    *"abeEnpt :=.-+0123456789{}'\"|[]/%\r\x1b\t,()",
    "loss",
    "step",
    "iter ",
    "Epoch: ",
    "np.float64(",
    "tensor(",
    " | ",
    "1e999",
]


@given(st.lists(st.sampled_from(LINE_PIECES), max_size=30).map("".join))
@settings(max_examples=80, deadline=None)
def test_any_line_is_read_without_error(line: str) -> None:
    for point in MetricParser().feed(line):
        assert math.isfinite(point.value) and isinstance(point.step, int) and point.name
