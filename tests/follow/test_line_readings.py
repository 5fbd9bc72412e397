"""The shared readings of a log line: its text as shown (line_text), its level and traceback
blocks (log_levels), a JSON line's record (json_line) and the `&` filter (line_filter).

Pure functions: no engine needed. Their speed is measured by tests/bench/bench_log_reading.py.
"""

from __future__ import annotations

import pytest

from runwatch.follow.json_line import field_text, json_record
from runwatch.follow.line_filter import FilterError, parse_filter, with_context
from runwatch.follow.line_text import last_state, plain_text, redraw_states
from runwatch.follow.log_levels import Level, LevelReader, level_of, levels_of

# -- line_text ----------------------------------------------------------------------------


def test_plain_text_is_the_last_redraw_state_without_escapes_or_controls() -> None:
    bar = "\r 10%|#         |\r 50%|#####     |\r100%|##########|"
    assert plain_text(bar) == "100%|##########|"
    assert plain_text("\x1b[31mERROR\x1b[0m \x1b]0;title\x07disk full\x07") == "ERROR disk full"
    assert plain_text("tab\tkept\x00") == "tab\tkept"
    assert plain_text("crlf line\r") == "crlf line"
    assert plain_text("\x9b2Jgone") == "gone"
    assert last_state("a\rb\r") == "b"
    assert redraw_states("\r\n\rx") == ["x"]
    assert plain_text("") == ""


# -- log_levels ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "level"),
    [
        ("2026-12-01 12:00:00,123 WARNING loss rising", Level.WARNING),
        ("WARN: disk", Level.WARNING),
        ("2026-12-01 12:00:00 ERROR boom", Level.ERROR),
        ("[CRITICAL] gpu lost", Level.CRITICAL),
        ("FATAL out of memory", Level.CRITICAL),
        ("DEBUG batch=3", Level.DEBUG),
        ("INFO starting", Level.INFO),
        ("E1201 12:00:00.000123 1234 main.cc:12] glog error", Level.ERROR),
        ("W1201 12:00:00.000123 1234 main.cc:12] glog warning", Level.WARNING),
        ('ts=1 level=warn msg="slow"', Level.WARNING),
        ('{"level": "error", "msg": "x"}', Level.ERROR),
        ('{"levelname": "WARNING", "message": "x"}', Level.WARNING),
        ('{"severity": "DEBUG"}', Level.DEBUG),
        ('{"level": 50, "msg": "pino error"}', Level.ERROR),
        ("/src/train.py:12: UserWarning: deprecated", Level.WARNING),
        ("step=1 loss=0.5", None),
        ("ERRORS in a word are not a level: INFO_DIR", None),
        ("the loss went up, but nothing is an error here", None),
        ('{"not": "a level"}', None),
        ("", None),
    ],
)
def test_level_of_one_line(line: str, level: Level | None) -> None:
    assert level_of(line) == level


def test_a_traceback_is_one_error_block_starting_on_its_first_line() -> None:
    lines = [
        "step 1",
        "Traceback (most recent call last):",
        '  File "a.py", line 1, in <module>',
        "    main()",
        "KeyError: 'x'",
        "",
        "During handling of the above exception, another exception occurred:",
        "",
        "Traceback (most recent call last):",
        '  File "a.py", line 3, in <module>',
        "ValueError: y",
        "step 2",
        "INFO done",
    ]
    read = levels_of(lines)
    starts = [i for i, line in enumerate(read) if line.starts and line.level == Level.ERROR]
    assert starts == [1]  # the chained traceback continues the block
    # Every line of it is an error but the blank ones after an exception, which may end it
    # (they are no start of anything either).
    block = [i for i in range(1, 11) if read[i].in_traceback and read[i].level == Level.ERROR]
    assert block == [1, 2, 3, 4, 6, 8, 9, 10]
    assert not read[5].starts and not read[7].starts
    assert read[11] == (None, True, False)
    assert read[12].level == Level.INFO


def test_a_reader_continues_a_traceback_across_batches() -> None:
    reader = LevelReader()
    assert reader.read("Traceback (most recent call last):").starts
    assert reader.in_block
    second = reader.read('  File "x.py", line 2')
    assert second.in_traceback and not second.starts
    assert not reader.read("RuntimeError: boom").starts
    assert reader.read("next line").level is None
    assert not reader.in_block


def test_reading_a_batch_at_once_reads_each_line_as_one_by_one() -> None:
    import random

    # Every kind of line `level_of` and the traceback rule tell apart, and plain ones around.
    kinds = [
        "epoch=1 step=2 loss=0.5 accuracy=0.9 soak line",
        "step=7 loss=0.25",
        "",
        "   ",
        "2026-12-01 12:00:00,123 WARNING loss rising",
        "INFO starting",
        "x" * 79 + "ERROR beyond the head",
        "x" * 78 + "ERROR across the head",
        'ts=1 level=warn msg="slow"',
        '{"level": "error", "msg": "x"}',
        '{"not": "a level"}',
        "E1201 12:00:00.000123 1234 main.cc:12] glog error",
        "Epoch 3",
        "/src/train.py:12: UserWarning: deprecated",
        "Traceback (most recent call last):",
        '  File "a.py", line 1, in <module>',
        "    main()",
        "KeyError: 'x'",
        "During handling of the above exception, another exception occurred:",
        "The above exception was the direct cause of the following exception:",
        "ValueError",
        "\tindented",
        "TRACE",
        "Traceback",
        "severity=3",
    ]
    rng = random.Random(15)
    for _ in range(300):
        one, many = LevelReader(), LevelReader()
        # Mostly plain lines, as a log pouring in, with the rest sprinkled in; read in
        # batches of every size, so tracebacks run across batches.
        lines = [rng.choice(kinds[:2] if rng.random() < 0.8 else kinds) for _ in range(200)]
        cut = 0
        while cut < len(lines):
            size = rng.choice([1, 5, 15, 16, 17, 40, 200])
            batch = lines[cut : cut + size]
            assert many.read_many(batch) == [one.read(line) for line in batch], batch
            assert many.in_block == one.in_block
            cut += size
    # A text with a line break (not what the pane holds) is read line by line as well.
    batch = ["a\nINFO b", *kinds] * 2
    assert LevelReader().read_many(batch) == levels_of_one_by_one(batch)


def levels_of_one_by_one(lines: list[str]) -> list[object]:
    reader = LevelReader()
    return [reader.read(line) for line in lines]


# -- json_line ----------------------------------------------------------------------------


def test_a_json_line_is_read_as_a_record() -> None:
    record = json_record(
        '{"time": "2026-12-01T12:00:00Z", "level": "warning", "msg": "slow",'
        ' "step": 3, "tags": ["a"]}'
    )
    assert record is not None
    assert (record.message, record.level, record.time) == (
        "slow",
        Level.WARNING,
        "2026-12-01T12:00:00Z",
    )
    assert record.rest == [("step", 3), ("tags", ["a"])]
    assert field_text(["a"]) == '["a"]' and field_text("x") == "x"
    assert json_record("{not json}") is None
    assert json_record("[1, 2]") is None
    assert json_record("{}") is None
    assert json_record("plain text") is None


# -- line_filter --------------------------------------------------------------------------


def _kept(spec: str, texts: list[str]) -> list[int]:
    line_filter = parse_filter(spec)
    haystack = [t.lower() for t in texts] if line_filter.ignore_case else texts
    matches = line_filter.indices(haystack)
    assert matches == [i for i, t in enumerate(texts) if line_filter.matches(t)]
    return with_context(matches, line_filter.before, line_filter.after, 0, len(texts))


TEXTS = ["INFO start", "step=1 loss=0.5", "WARNING Loss rising", "step=2 loss=0.7", "Error: x"]


def test_plain_text_filters_with_smart_case() -> None:
    assert _kept("loss", TEXTS) == [1, 2, 3]
    assert _kept("Loss", TEXTS) == [2]
    assert _kept("!loss", TEXTS) == [0, 4]
    assert _kept("loss=0.5", TEXTS) == [1]  # a dot alone is no regular expression
    assert _kept('"step=.*"', TEXTS) == []  # quoted: plain text, always


def test_regular_expressions_when_they_look_like_one_or_are_asked_for() -> None:
    assert parse_filter(r"step=\d").regex
    assert _kept(r"step=\d", TEXTS) == [1, 3]
    assert _kept("^error|^warning", TEXTS) == [2, 4]
    assert _kept("/o.s/", TEXTS) == [0, 1, 2, 3]  # "info start" too
    assert not parse_filter("foo(").regex  # looked like one, is not: plain text
    with pytest.raises(FilterError, match="not a regular expression"):
        parse_filter("/foo(/")
    with pytest.raises(FilterError, match="empty"):
        parse_filter("  ")


def test_context_lines_before_and_after_as_grep() -> None:
    assert _kept("WARNING -C 1", TEXTS) == [1, 2, 3]
    assert _kept("WARNING -A 2", TEXTS) == [2, 3, 4]
    assert _kept("WARNING -B 5", TEXTS) == [0, 1, 2]
    assert parse_filter("x -B 2 -A 1").describe() == "'x' -B 2 -A 1"
    assert parse_filter("!x -C 3").describe() == "hiding 'x' -C 3"
    assert with_context([0, 5, 9], 1, 2, 0, 10) == [0, 1, 2, 4, 5, 6, 7, 8, 9]
    assert with_context([12], 3, 0, 0, 10) == [9]  # a match past the range reaches back
    assert with_context([3, 4], 0, 1, 2, 5) == [3, 4]
