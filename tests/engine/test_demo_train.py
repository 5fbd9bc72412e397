"""The demo's `train` version prints what training code prints, so the charts have something to
draw on first start: its output (no delay) cut into lines by the supervisor's own rules."""

from __future__ import annotations

import ast
import json
import re
import sys
from types import SimpleNamespace

import pytest

from runwatch.engine.commands import DEMO_DIR
from runwatch.engine.redraw import LineCutter


@pytest.fixture
def train(monkeypatch: pytest.MonkeyPatch) -> object:
    monkeypatch.syspath_prepend(str(DEMO_DIR))
    monkeypatch.delitem(sys.modules, "train", raising=False)
    import train  # type: ignore[import-not-found]

    return train


def test_the_demo_prints_bars_metrics_in_several_formats_and_warnings(
    train: object, capsys: pytest.CaptureFixture[str]
) -> None:
    context = SimpleNamespace(run_id="run-1", attempt=1)
    train.handler({"epochs": 2, "steps": 16, "delay": 0}, context)  # type: ignore[attr-defined]
    raw = capsys.readouterr().out
    assert raw.count("\r") > 100, "its bars are redrawn in place"
    cutter = LineCutter()
    lines = (cutter.feed(raw.encode(), 0.0, 0) + cutter.finish()).decode().splitlines()

    bars = [line for line in lines if re.match(r"Epoch \d/2: +\d+%\|", line)]
    assert [bar.split("|")[2].split()[0] for bar in bars] == ["64/64", "64/64"]
    steps = [re.fullmatch(r"epoch=\d step=(\d+) loss=(\S+) accuracy=(\S+)", x) for x in lines]
    points = [(int(m[1]), float(m[2]), float(m[3])) for m in steps if m]
    assert [step for step, _, _ in points] == list(range(1, 33))
    first, last = points[:4], points[-4:]
    assert min(loss for _, loss, _ in first) > max(loss for _, loss, _ in last) + 0.5
    assert max(acc for _, _, acc in first) < min(acc for _, _, acc in last) - 0.3
    trainer = [ast.literal_eval(x) for x in lines if x.startswith("{'")]
    assert [d["epoch"] for d in trainer if "learning_rate" in d] == [0.5, 1.0, 1.5, 2.0]
    assert trainer[-1]["train_loss"] > 0
    keras = [x for x in lines if re.fullmatch(r"16/16 \[=+\] - \d+s \d+ms/step - val_loss: .*", x)]
    assert len(keras) == 2 and all(" - val_accuracy: 0." in x for x in keras)
    records = [json.loads(x) for x in lines if x.startswith('{"')]
    assert [(r["epoch"], r["step"]) for r in records] == [(1, 16), (2, 32)]
    assert len([x for x in lines if x.startswith("WARNING")]) == 2
    assert lines[-1] == "training finished"
