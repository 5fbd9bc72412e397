"""Hypothesis-generated answers for every endpoint, through the real client and parsing layer.

Bodies are the endpoint's shape with hostile leaves (wrong types, nulls, unknown statuses,
control characters, huge strings, lone surrogates, NaN), then mangled (cut off, wrapped,
replaced by bytes or by JSON nested thousands deep), and served with a random status and
headers through the client's streaming path. Whatever arrives, the client and the layer
above it (models, runs poller, log follower, the CLI's deployment lookup) hand back a model or
raise the project's own errors: a 2xx only ever `ResponseShapeError`, anything else an
`ApiError`. No other exception, and no hang. And whatever of it the CLI and the TUI print
carries no character a terminal would act on.

CI tries RUNWATCH_FUZZ_EXAMPLES (default 100) examples per test; the long form is e.g.
`RUNWATCH_FUZZ_EXAMPLES=5000 pytest tests/faults/test_parsing_fuzz.py --timeout 0
--hypothesis-show-statistics`, which also prints how many examples each test tried (without
--timeout 0 the suite's 120 s limit cuts the long form short).
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import re
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.console import Console

from runwatch.api import AsyncAPIClient
from runwatch.api.errors import ApiError, HttpError, ResponseShapeError
from runwatch.api.models import LogEvent, Run
from runwatch.cli import runs_cmd, watch_cmd
from runwatch.cli.command_setup import find_deployment
from runwatch.cli.common import UsageError
from runwatch.cli.terminal_output import LineWriter, dump_json
from runwatch.config import Settings
from runwatch.follow.logs import LogFollower
from runwatch.follow.runs import RunsPoller
from runwatch.tui.widgets.log_view import shown_message
from runwatch.tui.widgets.run_cells import run_cells
from runwatch.tui.widgets.run_detail import render_run

EXAMPLES = max(1, int(os.environ.get("RUNWATCH_FUZZ_EXAMPLES", "100")))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
TOKEN = "fuzz-SECRET-token-0123456789"

# ---------------------------------------------------------------- strategies

hostile_text = st.one_of(
    st.text(max_size=20),
    st.sampled_from(
        [
            "\x1b[2J\x1b]0;title\x07",
            "\x1b]52;c;ZXZpbA==\x07",
            "[bold]x[/][/]",
            "\x9b31m\u202e\r\x00",
            "\ud800",  # a lone surrogate: valid in JSON text, not encodable as UTF-8
            TOKEN,
        ]
    ),
    st.sampled_from([5_000, 100_000]).map(lambda n: "x" * n),  # a huge message
)
json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    hostile_text,
)
json_value = st.recursive(
    json_leaf,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(hostile_text, children, max_size=3)
    ),
    max_leaves=8,
)
timestamps = st.one_of(
    st.just("2026-01-01T00:00:00.000000Z"),
    st.datetimes().map(lambda d: d.isoformat()),
    json_value,
)
statuses = st.one_of(
    st.sampled_from(["SUBMITTED", "RUNNING", "SUCCEEDED", "FAILED", "EXPLODED", ""]), json_value
)


def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """The field's plausible value, or anything at all."""
    return st.one_of(strategy, json_value)


run_dict = st.fixed_dictionaries(
    {},
    optional={
        "run_id": maybe(st.text(min_size=1, max_size=12)),
        "status": statuses,
        "deployment_id": maybe(st.text(max_size=12)),
        "model_version_id": maybe(st.text(max_size=12)),
        "version_id": maybe(st.text(max_size=12)),
        "model_version": maybe(st.text(max_size=8)),
        "models": maybe(st.dictionaries(hostile_text, hostile_text, max_size=2)),
        "input_data": json_value,
        "output_template": json_value,
        "retry_count": maybe(st.integers(0, 9)),
        "distribution": maybe(st.integers(0, 9)),
        "user_env_vars": maybe(st.dictionaries(hostile_text, hostile_text, max_size=2)),
        "created_at": timestamps,
        "modified_at": timestamps,
    },
)
event_dict = st.fixed_dictionaries(
    {}, optional={"message": maybe(hostile_text), "timestamp": timestamps}
)
tokens = maybe(st.text(min_size=1, max_size=8))
runs_page = st.fixed_dictionaries(
    {},
    optional={
        "entries": maybe(st.lists(st.one_of(run_dict, json_value), max_size=4)),
        "next_page_token": tokens,
    },
)
logs_page = st.fixed_dictionaries(
    {},
    optional={
        "events": maybe(st.lists(st.one_of(event_dict, json_value), max_size=4)),
        "next_forward_token": tokens,
        "next_backward_token": tokens,
        "next_token": tokens,
    },
)
deployments_page = st.fixed_dictionaries(
    {},
    optional={
        "entries": maybe(
            st.lists(
                st.one_of(
                    st.fixed_dictionaries(
                        {},
                        optional={
                            "deployment_id": maybe(st.text(min_size=1, max_size=8)),
                            "name": json_value,
                            "version_id": maybe(st.text(max_size=8)),
                        },
                    ),
                    json_value,
                ),
                max_size=3,
            )
        )
    },
)


def serialised(shape: st.SearchStrategy[Any]) -> st.SearchStrategy[bytes]:
    """The shape as JSON bytes, or mangled on the way."""
    encoded = shape.map(lambda value: json.dumps(value).encode())
    return st.one_of(
        encoded,
        encoded,
        encoded.flatmap(lambda raw: st.integers(0, len(raw)).map(lambda cut: raw[:cut])),
        shape.map(lambda value: json.dumps([value]).encode()),
        st.binary(max_size=64),
        st.integers(1, 50_000).map(lambda n: b"[" * n + b"]" * n),
        st.integers(90, 120).map(lambda n: b'{"entries": ' + b"[" * n + b"]" * n + b"}"),
        st.sampled_from([b"", b"null", b"<html>502</html>", b"\xff\xfe\x00", b"NaN"]),
    )


answers = st.tuples(
    st.sampled_from([200, 200, 200, 201, 204, 400, 404, 409, 429, 500, 502, 503]),
    st.dictionaries(
        st.sampled_from(["content-type", "retry-after", "content-encoding"]),
        st.sampled_from(
            [
                *("application/json", "text/html", "text/plain; charset=utf-16"),
                *("application/json; charset=klingon", "1", "-5", "soon"),
                *("Wed, 21 Oct 2015 07:28:00 GMT", "gzip", "identity"),
            ]
        ),
        max_size=3,
    ),
)

# ---------------------------------------------------------------- harness


def client_for(bodies: Iterator[tuple[int, dict[str, str], bytes]]) -> AsyncAPIClient:
    """A client whose every request gets the next generated answer (the last one repeats)."""
    last: list[tuple[int, dict[str, str], bytes]] = []

    def handle(request: httpx.Request) -> httpx.Response:
        answer = next(bodies, None)
        if answer is not None:
            last[:] = [answer]
        status, headers, body = last[0]
        # A stream, not content: the client reads it as it reads a real socket.
        return httpx.Response(status, headers=headers, stream=httpx.ByteStream(body))

    async def no_sleep(seconds: float) -> None:
        return None

    return AsyncAPIClient(
        {"auth_token": TOKEN},
        timeout=5,
        max_retry_count=1,
        base_url="http://fuzz.test",
        transport=httpx.MockTransport(handle),
        sleep=no_sleep,
    )


def check(
    name: str,
    answers_: list[tuple[int, dict[str, str], bytes]],
    action: Callable[[AsyncAPIClient], Awaitable[object]],
    allowed: tuple[type[Exception], ...] = (),
) -> None:
    """Run `action` against the answers: it returns, or raises the project's errors only."""

    async def main() -> None:
        client = client_for(iter(answers_))
        try:
            await asyncio.wait_for(action(client), timeout=30)
        finally:
            await client.aclose()

    try:
        asyncio.run(main())
    except ResponseShapeError as error:
        assert TOKEN not in str(error)
    except HttpError as error:
        # Only a non-2xx answer gives an HttpError.
        assert any(status >= 300 for status, _, _ in answers_), error
        assert TOKEN not in str(error)
    except ApiError as error:
        # A body the client could not decode (content-encoding), or an id from an earlier
        # answer too long to go into a URL.
        assert "cannot send" in str(error) or any(
            "content-encoding" in headers for _, headers, _ in answers_
        ), error
    except allowed:
        pass


def answer_list(shape: st.SearchStrategy[Any], size: int = 4) -> st.SearchStrategy[Any]:
    return st.lists(
        st.tuples(answers, serialised(shape)).map(lambda a: (a[0][0], a[0][1], a[1])),
        min_size=1,
        max_size=size,
    )


# ---------------------------------------------------------------- tests


@pytest.mark.slow
@pytest.mark.long
@FUZZ
@given(answer_list(run_dict), answer_list(runs_page))
def test_runs_endpoints_parse_or_raise_shape_errors(
    run_answers: list[Any], page_answers: list[Any]
) -> None:
    async def get_run(client: AsyncAPIClient) -> object:
        return Run.from_wire(await client.get_run("org", "dep", "run"))

    async def create_run(client: AsyncAPIClient) -> object:
        return Run.from_wire(await client.create_run("org", "dep", "ver"))

    async def poll_runs(client: AsyncAPIClient) -> object:
        poller = RunsPoller(client, "org", "dep")
        diffs = [await poller.poll(), await poller.load_more(), await poller.poll()]
        assert all(isinstance(run, Run) for run in poller.runs.values())
        assert set(poller.order) <= set(poller.runs)
        return diffs

    check("get_run", run_answers, get_run)
    check("create_run", run_answers, create_run)
    check("get_runs", page_answers, poll_runs)


@pytest.mark.slow
@pytest.mark.long
@FUZZ
@given(answer_list(logs_page, size=6), st.sampled_from(["newest", "from_start", "tail"]))
def test_log_endpoints_parse_or_raise_shape_errors(page_answers: list[Any], start: str) -> None:
    async def follow(client: AsyncAPIClient) -> object:
        follower = LogFollower(
            client,
            "org",
            "dep",
            "run",
            from_start=start == "from_start",
            tail=3 if start == "tail" else None,
            max_pages_per_poll=4,
        )
        events: list[LogEvent] = []
        for _ in range(3):
            events.extend(await follower.poll())
        events.extend(await follower.older())
        assert all(isinstance(e.message, str) and isinstance(e.raw_timestamp, str) for e in events)
        return events

    async def logs(client: AsyncAPIClient) -> object:
        data = await client.get_run_logs("org", "dep", "run")
        raw = data.get("events")
        if not isinstance(raw, list):
            return None
        return [LogEvent.from_wire(item) for item in raw]

    check("recentlogs", page_answers, follow)
    check("logs", page_answers, logs)


@pytest.mark.slow
@pytest.mark.long
@FUZZ
@given(answer_list(deployments_page), st.sampled_from(["run", "version", "only"]))
def test_deployment_lookup_parses_or_raises(page_answers: list[Any], by: str) -> None:
    settings_ = Settings(api_url="http://fuzz.test", organization_id="org")

    async def lookup(client: AsyncAPIClient) -> object:
        return await find_deployment(
            client,
            settings_,
            run_id="run" if by == "run" else None,
            version_id="ver" if by == "version" else None,
        )

    # UsageError: "not found in any deployment", "several deployments": answers, not crashes.
    check("deployments", page_answers, lookup, allowed=(UsageError,))


# Characters that would act on a terminal; TAB and LF are layout.
CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


@pytest.mark.slow
@pytest.mark.long
@FUZZ
@given(st.lists(run_dict, min_size=1, max_size=3), st.lists(event_dict, max_size=3))
def test_what_the_cli_and_tui_print_of_any_run_is_inert(
    raw_runs: list[Any], raw_events: list[Any]
) -> None:
    runs: list[Run] = []
    for raw in raw_runs:
        try:
            runs.append(Run.from_wire(raw))
        except ResponseShapeError:
            continue
    events = [LogEvent.from_wire(item) for item in raw_events]
    now = datetime.now(UTC)
    printed = [runs_cmd.table(runs, color=False)] if runs else []
    for run in runs:
        printed.append(runs_cmd.describe(run))
        printed.append(watch_cmd.status_line(run, color=False))
        printed.append(dump_json(dict(run.raw)))
        cells = run_cells(run, now)
        printed.extend(cell.plain for cell in cells.values())
        console = Console(file=io.StringIO(), width=100, color_system=None, legacy_windows=False)
        console.print(render_run(run, [(run.status, now)], now, stale=True))
        printed.append(console.file.getvalue())  # type: ignore[attr-defined]
    stream = TtyStringIO()
    LineWriter(stream).write_events(events, timestamps=True)
    printed.append(stream.getvalue())
    printed.extend(shown_message(event.message) for event in events)
    for text in printed:
        assert not CONTROLS.search(text), repr(text)


class TtyStringIO(io.StringIO):
    def isatty(self) -> bool:
        return True
