"""Typed views: Run, LogEvent, RunStatus, parse_time, format_time."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runwatch.api import (
    TERMINAL_STATUSES,
    LogEvent,
    ResponseShapeError,
    Run,
    RunStatus,
    format_time,
    is_terminal,
    parse_time,
)

SEED_RUN = {
    "deployment_id": "1111111111111",
    "models": {"alias": "3333333333333"},
    "model_version": "0.0.3",
    "model_version_id": "ver-1111111111111111",
    "input_data": {
        "$datalake:1": "2222222222222/20180101T112233-44444444-5555-6666-7777-888888888888"
    },
    "output_template": None,
    "retry_count": 7,
    "run_id": "run-3333333333333333",
    "status": "SUBMITTED",
    "user_env_vars": {"DEBUG": "debug"},
    "distribution": 0,
    "created_at": "2018-01-01T00:00:00.000000Z",
    "modified_at": "2018-01-01T00:00:00.000000Z",
}


def test_run_statuses() -> None:
    assert [s.value for s in RunStatus] == [
        "SUBMITTED",
        "PENDING",
        "RUNNABLE",
        "STARTING",
        "RUNNING",
        "SUCCEEDED",
        "FAILED",
    ]
    assert {s for s in RunStatus if s.terminal} == {RunStatus.SUCCEEDED, RunStatus.FAILED}
    assert {"SUCCEEDED", "FAILED"} == TERMINAL_STATUSES
    assert is_terminal("FAILED") and is_terminal(RunStatus.SUCCEEDED)
    assert not is_terminal("RUNNING") and not is_terminal("ARCHIVED")
    assert RunStatus.RUNNING == "RUNNING"


def test_run_from_the_seed_example() -> None:
    run = Run.from_wire(SEED_RUN)
    assert run.run_id == "run-3333333333333333"
    assert run.status == RunStatus.SUBMITTED
    assert run.deployment_id == "1111111111111"
    assert run.version_id == "ver-1111111111111111"
    assert run.model_version == "0.0.3"
    assert run.models == {"alias": "3333333333333"}
    assert run.input_data == SEED_RUN["input_data"]
    assert run.output_template is None
    assert run.retry_count == 7 and run.distribution == 0
    assert run.user_env_vars == {"DEBUG": "debug"}
    assert run.created_at == datetime(2018, 1, 1, tzinfo=UTC)
    assert run.modified_at == run.created_at
    assert run.raw == SEED_RUN
    assert not run.terminal


def test_input_data_as_a_json_string() -> None:
    wire = {**SEED_RUN, "input_data": json.dumps(SEED_RUN["input_data"])}
    assert Run.from_wire(wire).input_data == SEED_RUN["input_data"]
    assert Run.from_wire({**SEED_RUN, "input_data": "not json"}).input_data == "not json"
    assert Run.from_wire({**SEED_RUN, "user_env_vars": '{"A": "1"}'}).user_env_vars == {"A": "1"}


def test_every_field_the_platform_double_encodes() -> None:
    run = Run.from_wire(
        {
            **SEED_RUN,
            "output_template": '{"$datalake:1": "x"}',
            "user_env_vars": '{"A": 1}',
            "models": '{"alias": "m"}',
        }
    )
    assert run.output_template == {"$datalake:1": "x"}
    assert run.user_env_vars == {"A": "1"} and run.models == {"alias": "m"}
    # Deeper than any answer may be: kept as the string it came as, so nothing that shows or
    # re-encodes it later recurses a thousand levels.
    deep = "[" * 150 + "]" * 150
    assert Run.from_wire({**SEED_RUN, "input_data": deep}).input_data == deep
    assert Run.from_wire({**SEED_RUN, "input_data": "[" * 5000}).input_data == "[" * 5000
    shallow = "[" * 50 + "]" * 50
    assert isinstance(Run.from_wire({**SEED_RUN, "input_data": shallow}).input_data, list)


def test_minimal_and_unknown() -> None:
    run = Run.from_wire({"run_id": "run-1", "status": "ARCHIVED", "new_field": [1, 2]})
    assert run.status == "ARCHIVED" and not run.terminal
    assert run.deployment_id is None and run.version_id is None
    assert run.models == {} and run.user_env_vars == {}
    assert run.input_data is None and run.created_at is None
    assert run.raw["new_field"] == [1, 2]
    assert Run.from_wire({"run_id": "r", "status": "FAILED"}).terminal
    assert Run.from_wire({"run_id": "r"}).status == ""


def test_odd_field_types_are_tolerated() -> None:
    run = Run.from_wire(
        {
            "run_id": "r",
            "status": 3,
            "deployment_id": 1111,
            "retry_count": "4",
            "distribution": True,
            "models": ["x"],
            "user_env_vars": {"N": 1},
            "created_at": "yesterday",
            "version_id": "ver-2",
        }
    )
    assert run.status == "3"
    assert run.deployment_id == "1111"
    assert run.retry_count == 4 and run.distribution is None
    assert run.models == {} and run.user_env_vars == {"N": "1"}
    assert run.created_at is None
    assert run.version_id == "ver-2"


@pytest.mark.parametrize("bad", [None, [], "run", 3, {"status": "RUNNING"}, {"run_id": 5}])
def test_not_a_run(bad: object) -> None:
    with pytest.raises(ResponseShapeError):
        Run.from_wire(bad)


def test_log_event() -> None:
    event = LogEvent.from_wire({"message": "epoch 1", "timestamp": "2018-01-01T00:00:01.5Z"})
    assert event.message == "epoch 1"
    assert event.timestamp == datetime(2018, 1, 1, 0, 0, 1, 500000, tzinfo=UTC)
    assert event.raw_timestamp == "2018-01-01T00:00:01.5Z"
    odd = LogEvent.from_wire({"message": {"loss": 0.1}, "timestamp": 17})
    assert odd.message == "{'loss': 0.1}" and odd.timestamp is None and odd.raw_timestamp == "17"
    empty = LogEvent.from_wire({})
    assert empty.message == "" and empty.timestamp is None and empty.raw_timestamp == ""
    with pytest.raises(ResponseShapeError):
        LogEvent.from_wire("line")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2018-01-01T00:00:00.000000Z", datetime(2018, 1, 1, tzinfo=UTC)),
        ("2018-01-01T00:00:00Z", datetime(2018, 1, 1, tzinfo=UTC)),
        ("2018-01-01T00:00:00", datetime(2018, 1, 1, tzinfo=UTC)),
        ("2018-01-01T09:00:00+09:00", datetime(2018, 1, 1, tzinfo=UTC)),
        ("2018-01-01T00:00:00.123Z", datetime(2018, 1, 1, 0, 0, 0, 123000, tzinfo=UTC)),
        ("2018-01-01T00:00:00.1234567Z", datetime(2018, 1, 1, 0, 0, 0, 123456, tzinfo=UTC)),
        (" 2018-01-01 00:00:00 ", datetime(2018, 1, 1, tzinfo=UTC)),
        (datetime(2018, 1, 1), datetime(2018, 1, 1, tzinfo=UTC)),
        ("", None),
        ("nonsense", None),
        ("2018-13-01T00:00:00Z", None),
        (None, None),
        (1514764800, None),
        ("0001-01-01T00:00:00+01:00", None),
    ],
)
def test_parse_time(text: object, expected: datetime | None) -> None:
    assert parse_time(text) == expected


def test_format_time() -> None:
    assert format_time(datetime(2018, 1, 1, tzinfo=UTC)) == "2018-01-01T00:00:00.000000Z"
    assert format_time(datetime(2018, 1, 1, 9, tzinfo=timezone(timedelta(hours=9)))) == (
        "2018-01-01T00:00:00.000000Z"
    )
    assert format_time(datetime(5, 1, 2, 3, 4, 5, 6)) == "0005-01-02T03:04:05.000006Z"


@given(st.datetimes(timezones=st.just(UTC)))
def test_format_then_parse_round_trips(value: datetime) -> None:
    assert parse_time(format_time(value)) == value


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=10,
)
RUN_KEYS = [*SEED_RUN, "version_id"]
wire_dicts = st.dictionaries(
    st.sampled_from(RUN_KEYS) | st.text(max_size=8), json_values | st.text(), max_size=14
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(wire_dicts, json_values, wire_dicts.map(lambda d: {**SEED_RUN, **d})))
def test_run_from_wire_only_raises_shape_errors(data: Any) -> None:
    try:
        run = Run.from_wire(data)
    except ResponseShapeError:
        return
    assert isinstance(run.run_id, str) and isinstance(run.status, str)
    assert run.created_at is None or run.created_at.tzinfo is UTC
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in run.models.items())
    assert run.retry_count is None or isinstance(run.retry_count, int)


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.dictionaries(
            st.sampled_from(["message", "timestamp"]) | st.text(max_size=5),
            json_values,
            max_size=4,
        ),
        json_values,
    )
)
def test_log_event_from_wire_only_raises_shape_errors(data: Any) -> None:
    try:
        event = LogEvent.from_wire(data)
    except ResponseShapeError:
        return
    assert isinstance(event.message, str) and isinstance(event.raw_timestamp, str)


def test_runs_are_hashable_and_compare_by_value() -> None:
    a, b = Run.from_wire(SEED_RUN), Run.from_wire(dict(SEED_RUN))
    assert a == b and hash(a) == hash(b) and len({a, b}) == 1
    assert a != Run.from_wire({**SEED_RUN, "status": "RUNNING"})
