"""The engine the dashboard fuzz (tests/tui/test_fuzz.py) runs against, and its faults.

One deployment (named with markup) has runs of every kind: a long log with ANSI codes, markup,
regex-looking, very wide and wide-character lines; a failed run; an empty log; large input data
and many environment variables; two runs that never end (one printing a line at a time, one in
bursts larger than a small log cap). Its versions are labelled with markup. Another deployment
has more than 50 runs; the demo deployment has none.
"""

from __future__ import annotations

import random
import signal
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import EngineProcess

# A run of the fuzz deployment keeps the engine's two queues busy for ever, so the runs
# submitted from the form (and the "many" deployment's) stay queued and cost no CPU.
FUZZ_HANDLER = r"""
import sys, time

SAMPLES = [
    "plain line {i}",
    "\x1b[31mred {i}\x1b[0m and \x1b[1mbold\x1b[0m \x1b[38;5;200mindexed\x1b[0m \x1b[2J",
    "[b]markup {i}[/b] [/] [@click=app.quit]quit[/] [link=x]l",
    "regex (.*) [a-z]+ \\ {{0}} %s $ ^ {i}",
    "wide " + "x" * 400 + " {i}",
    "日本語 🙂 é\ttab {i}",
    "",
    '{{"json": [1, 2, {{"a": null}}], "i": {i}}}',
]

def handler(input_data, context):
    data = input_data or {}
    for i in range(int(data.get("lines", 20))):
        print(SAMPLES[i % len(SAMPLES)].format(i=i))
    sys.stdout.flush()
    i = 0
    while data.get("forever"):
        for _ in range(int(data.get("burst", 1))):
            print(SAMPLES[i % len(SAMPLES)].format(i=i))
            i += 1
        sys.stdout.flush()
        time.sleep(float(data.get("pace", 0.5)))
    if data.get("fail"):
        raise SystemExit(3)
    return {"ok": True, "echo": data.get("echo")}
"""
VERSION_LABELS = ("1.0", "v[/]", "[@click=app.quit]quit[/]", "[b]bold")


@dataclass
class World:
    """The engine's deployments: runs of every kind, markup version labels, many, none."""

    engine: EngineProcess
    fuzz: str
    many: str
    empty: str


def build_world(engine: EngineProcess, tmp_path: Path) -> World:
    from runwatch.engine.deploy import deploy

    code = tmp_path / "fuzz-code"
    code.mkdir()
    (code / "main.py").write_text(FUZZ_HANDLER)
    fuzz = ""
    versions: list[str] = []
    for label in VERSION_LABELS:
        result = deploy(
            engine.data_dir, code, name="fuzz [b]", deployment_id=fuzz or None, version=label
        )
        fuzz = result.deployment_id
        versions.append(result.version_id)
    many_result = deploy(engine.data_dir, code, name="many", version="1")
    env = {f"VAR_{i}": "[b]" + "v" * 50 for i in range(20)}
    finished = [
        engine.create_run(fuzz, versions[0], input_data={"lines": 400}),
        engine.create_run(fuzz, versions[1], input_data={"lines": 5, "fail": True}, retry_count=0),
        engine.create_run(fuzz, versions[2], input_data={"lines": 0}),
        engine.create_run(
            fuzz, versions[3], input_data={"lines": 30, "echo": "[/]" * 2000}, environment=env
        ),
    ]
    for run in finished:
        engine.wait_for_status(fuzz, run["run_id"], {"SUCCEEDED", "FAILED"}, timeout=60)
    engine.create_run(fuzz, versions[0], input_data={"forever": True, "pace": 0.4})
    engine.create_run(
        fuzz, versions[1], input_data={"lines": 600, "forever": True, "burst": 300, "pace": 3}
    )
    many = many_result.deployment_id
    for i in range(55):
        engine.create_run(many, many_result.version_id, input_data={"i": i})
    return World(engine, fuzz, many, engine.demo_deployment_id)


class EngineFaults:
    """Stop/continue and kill/restart of the engine at chosen steps of an episode."""

    def __init__(self, engine: EngineProcess, rng: random.Random, steps: int) -> None:
        self.engine = engine
        self.plan: dict[int, str] = {}
        if rng.random() < 0.4:
            start = rng.randrange(steps)
            end = min(steps, start + rng.randint(1, 25))
            first, second = ("stop", "cont") if rng.random() < 0.5 else ("kill", "restart")
            self.plan = {start: first, end: second}
        self.stopped = False

    def run(self, what: str) -> None:
        process = self.engine.process
        if what == "stop" and process is not None and process.poll() is None:
            process.send_signal(signal.SIGSTOP)
            self.stopped = True
        elif what == "cont":
            self.resume()
        elif what == "kill":
            self.engine.kill()
        elif what == "restart":
            self.heal()

    def resume(self) -> None:
        if self.stopped and self.engine.process is not None:
            self.engine.process.send_signal(signal.SIGCONT)
        self.stopped = False

    def heal(self) -> None:
        """The engine running and answering again, whatever the episode left."""
        self.resume()
        process = self.engine.process
        if process is None or process.poll() is not None:
            self.engine.start()
