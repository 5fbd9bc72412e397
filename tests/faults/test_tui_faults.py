"""The dashboard against a misbehaving server: it keeps the last good data, says what is wrong,
recovers, and never lets a byte the server chose reach the terminal as a control.

Good data comes from a real engine; a hostile proxy in front of it is switched into each fault
while the app shows a running run, its detail and its log.
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from textual.widgets import Select

from runwatch.tui.app import RunwatchApp
from runwatch.tui.panes.log_export import file_name
from runwatch.tui.screens.deployments import DeploymentsScreen
from runwatch.tui.screens.submit import SubmitScreen
from tests.conftest import EngineProcess
from tests.faults.conftest import finished_gated_run, start_gated_run
from tests.faults.hostile import HOSTILE_TEXT, FaultProxy
from tests.tui.conftest import make_app, settings_for, wait_for

# Anything that would act on a terminal instead of being shown: C0 (no tab either: the log
# view expands tabs), DEL, C1, and the bidi controls that reorder what is displayed.
# (The newlines screen_text puts between rows are the only exception.)
CONTROLS = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")

# fault -> words the status bar must show while it lasts.
FAULT_REASONS = {
    "500": "500 boom in the server",
    "502": "502 Bad Gateway",
    "503": "503 Service Unavailable",
    "429": "429 slow down",
    "hang": "timed out waiting for an answer",
    "trickle": "timed out waiting for an answer",
    "drop": "connection dropped",
    "reset": "connection reset",
    "truncate": "answer cut off",
    "not-json": "bad answer: HTTP 200 is not JSON",
    "empty": "bad answer: HTTP 200 is not JSON",
    "garbage": "bad answer: HTTP 200 is not JSON",
}

# JSON of the wrong shape, as a rewrite of every answer -> what the status bar says.
SHAPES: list[tuple[Any, str]] = [
    # Lists that are not lists, a run without an id: a shape error for every loop.
    (lambda path, body: {"entries": "nope", "events": 7, "run_id": None}, "is not a list"),
    (lambda path, body: [body], "expected a JSON object, got array"),
    (lambda path, body: None, "expected a JSON object, got null"),
]


def screen_text(app: RunwatchApp) -> str:
    """Every character the app would send to the terminal for the current screen (toasts
    included when the test runs with `notifications=True`)."""
    strips = app.screen._compositor.render_strips()
    return "\n".join("".join(segment.text for segment in strip) for strip in strips)


def showing(app: RunwatchApp, screen_type: type) -> Callable[[], bool]:
    return lambda: isinstance(app.screen, screen_type)


def app_through(proxy: FaultProxy, engine: EngineProcess, tmp_path: Path, **kw: Any) -> RunwatchApp:
    # A short timeout by default: the hangs and trickles are given up on quickly.
    kw.setdefault("timeout", 0.5)
    settings = settings_for(engine, api_url=proxy.url, **kw)
    return make_app(engine, tmp_path, settings=settings)


async def test_every_fault_keeps_the_last_good_data_and_recovers(
    shared_engine: EngineProcess,
    gated_version: tuple[str, str],
    proxy: FaultProxy,
    tmp_path: Path,
) -> None:
    deployment_id = gated_version[0]
    gate = tmp_path / "gate"
    run_id = start_gated_run(shared_engine, gated_version, gate, before=5, after=3)["run_id"]
    # A backoff cap above the proxy's Retry-After (1 s), so honouring it shows.
    app = app_through(proxy, shared_engine, tmp_path, deployment_id=deployment_id, max_backoff=3)
    async with app.run_test(size=(140, 40), notifications=True) as pilot:
        main = app.main
        await wait_for(pilot, lambda: "before 4" in main.log_view.messages(), what="good log")
        await wait_for(pilot, lambda: main.selected_run is not None, what="detail")
        await wait_for(pilot, lambda: "live" in main.status_bar.describe(), what="live")
        good_lines = main.log_view.messages()
        good_rows = main.table.shown_ids()
        assert run_id in good_rows
        faults: list[tuple[str, str, Any]] = [
            *((fault, reason, None) for fault, reason in FAULT_REASONS.items()),
            *(("pass", reason, shape) for shape, reason in SHAPES),
        ]
        for fault, reason, shape in faults:
            proxy.set(fault)
            proxy.rewrite = shape
            await wait_for(
                pilot,
                lambda reason=reason: reason in main.status_bar.describe(),  # type: ignore[misc]
                within=15,
                what=f"{fault}: status bar saying {reason!r}",
            )
            bar = main.status_bar.describe()
            assert "reconnecting" in bar and "stale" in bar, bar
            if fault in ("429", "503"):
                # Retry-After: 1 is a floor for the next attempt.
                failing = [main.session.schedules[s] for s in main.session.connection.outages]
                assert failing and all(f.next_delay(active=True) >= 1.0 for f in failing), fault
            # The last good data stays on screen, marked stale.
            assert main.table.shown_ids() == good_rows, fault
            assert main.table.has_class("-stale"), fault
            assert main.selected_run is not None and main.selected_run.run_id == run_id
            assert main.log_view.messages() == good_lines, fault
            if main.session.connection.outage("logs"):
                assert "stale" in str(main.log_view.border_subtitle), fault
            text = screen_text(app)
            assert run_id in text and "before 4" in text and "(stale)" in text, fault
            assert not CONTROLS.search(text), fault
            proxy.set("pass")
            proxy.rewrite = None
            await wait_for(pilot, lambda: "live" in main.status_bar.describe(), what="live again")
            assert not main.table.has_class("-stale")
        # After all that, the run finishes and the log is complete: nothing lost or doubled.
        gate.touch()
        await wait_for(
            pilot,
            lambda: main.selected_run is not None and main.selected_run.status == "SUCCEEDED",
            within=30,
            what="run finished",
        )
        want = shared_engine.all_log_messages(deployment_id, run_id)
        assert want[: len(good_lines)] == good_lines and "after 2" in want
        await wait_for(pilot, lambda: main.log_view.messages() == want, what="whole log")
    assert sum(proxy.served[fault] for fault in FAULT_REASONS) >= len(FAULT_REASONS)


HUGE = 1_000_000


def hostile_ids(suffix: str, *, statuses: bool = True, huge: bool = False) -> tuple[Any, Any]:
    """A rewrite giving every run id, status and text field a hostile tail, and its inverse.

    `huge`: the line `before 1` also gets HUGE more characters.
    """

    def rewrite(path: str, body: Any) -> Any:
        def run(item: dict[str, Any]) -> dict[str, Any]:
            return {
                **item,
                "run_id": item["run_id"] + suffix,
                "status": item["status"] + (suffix if statuses else ""),
                "model_version": "v" + suffix,
                "user_env_vars": {"NAME" + suffix: "value" + suffix, "API_TOKEN": "sekr3t-value"},
                "input_data": {"key" + suffix: "value" + suffix},
                "models": {"alias" + suffix: "model" + suffix},
            }

        if path.endswith("/deployments"):
            return {"entries": [{**d, "name": "demo" + suffix} for d in body.get("entries", [])]}
        if "entries" in body:
            return {**body, "entries": [run(item) for item in body["entries"]]}
        if "events" in body:
            events = [
                {
                    "message": e["message"]
                    + suffix
                    + ("x" * HUGE if huge and e["message"] == "before 1" else ""),
                    "timestamp": suffix + e["timestamp"],
                }
                for e in body["events"]
            ]
            return {**body, "events": events}
        if "run_id" in body:
            return run(body)
        return body

    def unmap(path: str) -> str:
        return quote(unquote(path).replace(suffix, ""), safe="/?&=")

    return rewrite, unmap


async def test_hostile_text_from_the_server_is_inert_everywhere(
    shared_engine: EngineProcess,
    gated_version: tuple[str, str],
    proxy: FaultProxy,
    tmp_path: Path,
) -> None:
    deployment_id = gated_version[0]
    gate = tmp_path / "gate"
    start_gated_run(shared_engine, gated_version, gate, before=3, after=1)
    proxy.rewrite, proxy.unmap = hostile_ids(HOSTILE_TEXT, huge=True)
    app = app_through(proxy, shared_engine, tmp_path, deployment_id=deployment_id)
    app.notify_status_changes = True
    async with app.run_test(size=(160, 50), notifications=True) as pilot:
        main = app.main
        await wait_for(pilot, lambda: main.log_view.line_count >= 3, what="log lines")
        await wait_for(pilot, lambda: main.selected_run is not None, what="detail")
        assert main.selected_run is not None
        assert main.selected_run.run_id.endswith(HOSTILE_TEXT)
        text = screen_text(app)
        assert not CONTROLS.search(text), repr(CONTROLS.search(text))
        # Markup from the server is shown as typed, not interpreted.
        assert "[b]" in text and "[/x]" in text
        assert "sekr3t-value" not in text
        # The 1 MB line is shown cut, with a note; the lines around it are whole.
        # (HOSTILE_TEXT holds a carriage return: the pane shows what follows it, as a
        # terminal would, so the line no longer starts with "before 1".)
        huge = next(m for m in main.log_view.messages() if m.endswith("x exports the log]"))
        assert len(huge) < 10_100 and "more characters" in huge
        assert "[/x]  [1 earlier state overwritten by \\r]" in main.log_view.messages()
        for key in ("l", "w", "t", "end", "w", "t"):
            await pilot.press(key)
        assert not CONTROLS.search(screen_text(app))
        # The form pre-filled from the hostile run, and the deployment list: inert too.
        for key, screen_type in (("R", SubmitScreen), ("d", DeploymentsScreen)):
            await pilot.press(key)
            await wait_for(pilot, showing(app, screen_type), what=key)
            await pilot.pause(0.3)
            text = screen_text(app)
            assert not CONTROLS.search(text), (key, CONTROLS.search(text))
            await pilot.press("escape")
            await wait_for(pilot, lambda: app.screen is main, what="back")
        # Export: the file is named after the run id, which is the server's: it stays in the
        # export dir whatever the id holds ("../" included).
        await pilot.press("l", "x")

        def exported() -> list[str]:
            return [name for name in os.listdir(tmp_path) if name.endswith(".log")]

        await wait_for(pilot, exported, what="export file")
        (name,) = exported()
        assert name.startswith("run-") and CONTROLS.search(name) is None
        assert file_name("../../.bashrc") == "_.._.bashrc" and file_name("..") == "run"
        # A 404 for the selected run whose description is hostile: a toast, still inert.
        proxy.set("404", only="/runs/")
        await wait_for(pilot, lambda: "log unavailable" in main.log_view.activity, what="404")
        # The toast: "<run id>: 404 gone <description>", markup shown as typed (the run's
        # own poll says it, a moment after the log's).
        await wait_for(pilot, lambda: "[/x]: 404 gone [b]" in screen_text(app), what="toast")
        text = screen_text(app)
        assert not CONTROLS.search(text)
        proxy.set("pass")
        gate.touch()


async def test_a_deployment_without_an_id_is_not_chosen(
    shared_engine: EngineProcess, proxy: FaultProxy, tmp_path: Path
) -> None:
    def rewrite(path: str, body: Any) -> Any:
        if path.endswith("/deployments"):
            # A nameless-id "demo" first: the app prefers "demo" when nothing is configured.
            real = [{**d, "name": f"real {d['name']}"} for d in body["entries"]]
            return {"entries": [{"name": "demo", "deployment_id": None}, *real]}
        return body

    proxy.rewrite = rewrite
    app = app_through(proxy, shared_engine, tmp_path)
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        main = app.main
        await wait_for(pilot, lambda: main.deployment_id is not None, what="a deployment")
        await wait_for(pilot, lambda: "live" in main.status_bar.describe(), what="live")
        assert main.deployment_id == shared_engine.demo_deployment_id
    assert not any("/deployments/None" in path for _, path, _ in proxy.requests)


async def test_export_ends_when_the_server_cycles_its_tokens(
    shared_engine: EngineProcess,
    gated_version: tuple[str, str],
    proxy: FaultProxy,
    tmp_path: Path,
) -> None:
    run_id = finished_gated_run(shared_engine, gated_version, tmp_path)
    answers = iter(["A", "B"] * 1000)

    def rewrite(path: str, body: Any) -> Any:
        if path.endswith("/logs"):
            # A -> B -> A -> ...: every page comes with a token, none is the one just sent.
            return {**body, "next_token": next(answers)}
        return body

    proxy.rewrite = rewrite
    # The engine would refuse the made-up tokens: it is asked for the first page each time.
    proxy.unmap = lambda path: path.split("?", 1)[0] if "/logs?" in path else path
    app = app_through(proxy, shared_engine, tmp_path, deployment_id=gated_version[0])
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        main = app.main
        await wait_for(pilot, lambda: main.selected_run_id == run_id, what="the run")
        await pilot.press("l", "x")
        await wait_for(pilot, lambda: "Exported" in screen_text(app), what="export done")
    lines = (tmp_path / f"{run_id}.log").read_text().splitlines()
    stored = shared_engine.all_log_messages(gated_version[0], run_id)
    # Each page holds the same events; the read ends when a token comes back (A, B, A): the
    # first page, A, B, and at most one page more that the parallel read asked for at once
    # (the first and the newest page are read together). Whole pages, never one for ever.
    assert len(lines) % len(stored) == 0 and 3 <= len(lines) // len(stored) <= 4


async def test_a_created_run_whose_answer_cannot_be_read_is_not_offered_again(
    shared_engine: EngineProcess,
    gated_version: tuple[str, str],
    proxy: FaultProxy,
    tmp_path: Path,
) -> None:
    deployment_id, version_id = gated_version
    # The POST reaches the engine (the run is created); its answer comes back as an array.
    proxy.rewrite = lambda path, body: [body] if "run_id" in body else body
    # No hang here: a timeout a loaded machine cannot miss (the form's versions, read once,
    # came back after 0.5 s under the whole suite's load and the form then said so).
    app = app_through(proxy, shared_engine, tmp_path, deployment_id=deployment_id, timeout=10)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        main = app.main
        # Not "live": the rewrite also mangles the detail of a selected earlier run.
        await wait_for(pilot, lambda: main.runs_pane.loaded, what="the runs list")
        await pilot.press("n")
        await wait_for(pilot, showing(app, SubmitScreen), what="the form")
        form = app.screen
        assert isinstance(form, SubmitScreen)
        await wait_for(pilot, lambda: form._versions_ok, what="versions")
        form.query_one("#version-select", Select).value = version_id
        await pilot.pause()
        await pilot.press("ctrl+s")
        # Not "refused" with the form left open to submit again: outcome unknown, list refreshed.
        await wait_for(pilot, lambda: app.screen is main, what="the form closed")
        await wait_for(pilot, lambda: "Outcome unknown" in screen_text(app), what="the toast")
    assert sum(method == "POST" for method, _, _ in proxy.requests) == 1


async def test_an_export_that_never_ends_can_be_stopped(
    shared_engine: EngineProcess,
    gated_version: tuple[str, str],
    proxy: FaultProxy,
    tmp_path: Path,
) -> None:
    run_id = finished_gated_run(shared_engine, gated_version, tmp_path)
    tokens = itertools.count()
    pages: list[str] = []

    def rewrite(path: str, body: Any) -> Any:
        if path.endswith("/logs"):
            pages.append(path)
            return {**body, "next_token": f"t{next(tokens)}"}  # a new token, for ever
        return body

    proxy.rewrite = rewrite
    proxy.unmap = lambda path: path.split("?", 1)[0] if "/logs?" in path else path
    app = app_through(proxy, shared_engine, tmp_path, deployment_id=gated_version[0])
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        main = app.main
        await wait_for(pilot, lambda: main.selected_run_id == run_id, what="the run")
        await pilot.press("l", "x")
        # Counted where the pages pass (a check that drew from `tokens` itself was satisfied
        # by its own calls, before the export had begun on a loaded machine).
        await wait_for(pilot, lambda: len(pages) > 20, what="pages being exported")
        await wait_for(
            pilot, lambda: "(x stops)" in str(main.log_view.border_subtitle), what="x stops"
        )
        await pilot.press("x")
        await wait_for(pilot, lambda: "Export stopped" in screen_text(app), what="stopped")
        assert not main.log_pane.exporting()
        assert "exporting" not in str(main.log_view.border_subtitle)
    assert (tmp_path / f"{run_id}.log").read_text().count("\n") > 20
