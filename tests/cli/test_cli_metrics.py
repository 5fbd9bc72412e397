"""`runwatch metrics` and `runwatch watch`'s metrics line, against a real engine.

One run prints lines of several formats (some coloured, some redrawn with `\\r`) and lines
whose numbers are no metrics, then fails; every command here reads that one run.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import textwrap
from typing import Any

import pytest
from follow_fakes import FakeRunApi

from runwatch.api.models import LogEvent
from runwatch.cli import main, terminal_output
from tests.conftest import CLIENT_ENV_VARS

HANDLER = textwrap.dedent(
    r"""
    import sys

    LINES = [
        "{'loss': 0.4512, 'learning_rate': 4.5e-05, 'epoch': 0.12}",
        '{"step": 100, "val_loss": 0.3512, "time": 1733040000.5}',
        "\x1b[1m100/100\x1b[0m \x1b[32m━━━━━━━━━━\x1b[0m \x1b[1m2s\x1b[0m 5ms/step"
        " - accuracy: 0.8790 - kl: 0.41",
        "Epoch: [1]  [ 10/100]  eta: 0:00:25  lr: 0.02  loss: 1.2300 (1.3000)  time: 0.1000"
        "  data: 0.0100  max mem: 1234",
        " iteration      100/  500000 | elapsed time per iteration (ms): 1234.5 |"
        " lm loss: 7.123456E+00 | grad norm: 2.345 |",
        "[10]\ttrain-rmse:0.12000\teval-rmse:0.15000",
        "iter 200: loss 2.3456, time 123.45ms, mfu 31.27%",
        "Train Epoch: 1 [640/60000 (1%)]\tLoss: 2.276078",
        "eta: 0:00:25",
        "time: 123.45ms",
        "throughput: 120MB/s",
        "2026-12-01 10:00:00 INFO started",
        "Listening on localhost:8080",
    ]

    def handler(input_data, context):
        for line in LINES:
            print(line)
        # A bar redrawn with carriage returns, and a stepped line redrawn the same way.
        sys.stdout.write("\rEpoch 0:  50%|█████     | 5/10 [00:01<00:01, 4.00it/s, v_num=0, "
                         "pl_loss=0.5]\rEpoch 0: 100%|██████████| 10/10 [00:02<00:00, "
                         "4.00it/s, v_num=0, pl_loss=0.25]\n")
        sys.stdout.write("\rstep=7 train_loss=0.9\rstep=8 train_loss=0.8\n")
        sys.stdout.flush()
        raise RuntimeError("failed on purpose")
    """
)

# (name, value, step) that must be read back.
EXPECTED = [
    ("loss", 0.4512, 0),
    ("learning_rate", 4.5e-05, 0),
    ("epoch", 0.12, 0),
    ("val_loss", 0.3512, 100),
    ("accuracy", 0.879, 0),
    ("kl", 0.41, 0),
    ("lr", 0.02, 110),
    ("loss", 1.23, 110),
    ("lm loss", 7.123456, 100),
    ("grad norm", 2.345, 100),
    ("train-rmse", 0.12, 10),
    ("eval-rmse", 0.15, 10),
    ("loss", 2.3456, 200),
    ("mfu", 31.27, 200),
    ("Loss", 2.276078, 60640),
    ("train_loss", 0.8, 8),
]
NEVER = ("time", "eta", "mem", "data", "throughput", "localhost", "v_num", "iteration")


def test_metrics_and_watch_read_a_runs_formats(
    engine: Any,
    cli_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # In-process (a subprocess costs a second of start-up each), aimed at the real engine.
    for name in CLIENT_ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    for name, value in cli_env.items():
        monkeypatch.setenv(name, value)
    deployment_id, version_id = engine.deploy_source(HANDLER, name="metrics")
    run_id = engine.create_run(deployment_id, version_id, retry_count=0)["run_id"]
    where = ("--deployment", deployment_id)

    # -f follows the run to its end: the exit status of `logs -f` (1: it FAILED).
    assert main(["metrics", "-f", "--csv", run_id, *where]) == 1
    rows = list(csv.reader(capsys.readouterr().out.splitlines()))
    assert rows[0] == ["name", "value", "step", "timestamp"]

    assert main(["metrics", "--json", run_id, *where]) == 1
    points = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert all(list(p) == ["name", "value", "step", "timestamp"] for p in points)
    assert all(p["timestamp"] for p in points)
    got = {(p["name"], p["value"], p["step"]) for p in points}
    assert set(EXPECTED) <= got
    # The bar's last state; its step depends on how many states the engine kept.
    assert any(p["name"] == "pl_loss" and p["value"] == 0.25 for p in points)
    for point in points:
        assert not any(word in point["name"].lower() for word in NEVER), point
    # The CSV of the followed run holds the same points.
    assert {(r[0], float(r[1]), int(r[2])) for r in rows[1:]} == got

    assert main(["watch", run_id, *where]) == 1
    status, metrics = capsys.readouterr().out.splitlines()[-2:]
    assert status.endswith("FAILED")
    assert "lm loss=7.123456" in metrics and "train_loss=0.8" in metrics
    assert "Loss=2.276078" in metrics and "pl_loss=0.25" in metrics


class TerminalStream(io.StringIO):
    def isatty(self) -> bool:
        return True


def event(message: str) -> LogEvent:
    return LogEvent.from_wire({"message": message, "timestamp": "2026-12-01T10:00:00Z"})


BAR_1 = " 10%|█         | 1/10 [00:01<00:09, 1.00it/s, loss=0.5]"
BAR_2 = " 20%|██        | 2/10 [00:02<00:08, 1.00it/s, loss=0.4]"


def test_a_terminal_shows_last_states_and_rewrites_bars_in_place(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(shutil, "get_terminal_size", lambda: os.terminal_size((40, 20)))
    events = [event("a\rb\rstart"), event(BAR_1), event("\r" + BAR_2), event("done\x1b]0;x\x07")]
    screen = TerminalStream()
    writer = terminal_output.LineWriter(screen)
    writer.write_events(events[:2])
    writer.write_events(events[2:3])
    assert screen.getvalue() == "start\n" + BAR_1[:38] + "…" + "\r\x1b[2K" + BAR_2[:38] + "…"
    writer.write_events(events[3:])
    writer.write_live("loss=0.4 " * 9, final=True)
    writer.finish()
    assert screen.getvalue().endswith(BAR_2[:38] + "…\ndone\n" + "loss=0.4 " * 9 + "\n")
    # A pipe gets the lines byte for byte, bar states one a line.
    piped = io.StringIO()
    terminal_output.LineWriter(piped).write_events(events)
    assert piped.getvalue() == "\n".join(e.message for e in events) + "\n"


def test_metrics_usage_errors_are_refused_before_any_request(
    fake_api: FakeRunApi, capsys: pytest.CaptureFixture[str]
) -> None:
    for argv, message in [
        (["--json", "--csv"], "--json and --csv cannot be combined"),
        (["--pattern", "(?P<loss>"], "--pattern is not a valid regular expression"),
        (["--pattern", "loss=([0-9.]+)"], "--pattern has no named group"),
    ]:
        assert main(["metrics", "run-1", "--deployment", "dep-1", *argv]) == 2
        assert message in capsys.readouterr().err
    assert fake_api.requests == []


def test_metrics_text_is_a_table_and_a_pattern_reads_its_format(
    fake_api: FakeRunApi, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_api.status = "SUCCEEDED"
    fake_api.add("loss=0.5", "E7 L=0.25", "no metric here")
    argv = ["metrics", "run-1", "--deployment", "dep-1"]
    assert main([*argv, "--pattern", r"E(?P<step>\d+) L=(?P<L>[0-9.]+)"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "TIMESTAMP                        STEP  NAME              VALUE",
        "2026-01-01T00:00:00.000000Z         0  loss              0.5",
        "2026-01-01T00:00:01.000000Z         7  L                 0.25",
    ]
