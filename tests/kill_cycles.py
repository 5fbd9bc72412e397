"""Shared by the kill/restart tests: a handler printing a numbered sequence in bursts until told
to stop, the check that a follower's output is exactly that sequence, and the kill schedule.

RUNWATCH_KILL_CYCLES picks how many times the engine is SIGKILLed and restarted (CI: the short
default; by hand, e.g. RUNWATCH_KILL_CYCLES=20 for the long form); RUNWATCH_KILL_SEED replays
one schedule (the seed is in every failure message).
"""

from __future__ import annotations

import os
import random
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Bursts from 1 line to several ingestion-sized floods (`sizes`), with pauses, from when the
# optional gate file exists until the stop file exists or `bursts` bursts were printed; then one
# `total N` line. A burst is flushed at its end, so the spool gets records of every size and a
# kill can land in the middle of a burst, of its ingestion, or in a pause.
NUMBERED_HANDLER = """
import os, random, sys, time

def handler(input_data, context):
    rng = random.Random(int(input_data["seed"]))
    sizes = input_data.get("sizes") or [1, 3, 40, 400, 2500, 8000]
    gate, stop = input_data.get("gate"), input_data.get("stop")
    bursts = input_data.get("bursts")
    while gate and not os.path.exists(gate):
        time.sleep(0.02)
    n = burst = 0
    while not (stop and os.path.exists(stop)) and not (bursts and burst >= bursts):
        burst += 1
        for _ in range(rng.choice(sizes)):
            print(f"n {n:07d}")
            n += 1
        sys.stdout.flush()
        time.sleep(rng.uniform(0.01, 0.3))
    print(f"total {n}")
"""

ENGINE_PREFIX = "[engine] "


def kill_cycles(default: int = 3) -> int:
    return max(1, int(os.environ.get("RUNWATCH_KILL_CYCLES", str(default))))


# pytest-timeout's limit for a kill-cycle test: the suite's default, plus room per cycle.
KILL_TIMEOUT = 120 + 15 * kill_cycles()


def kill_seed() -> int:
    value = os.environ.get("RUNWATCH_KILL_SEED")
    return int(value) if value else random.SystemRandom().randrange(1 << 30)


def handler_lines(lines: Sequence[str]) -> list[str]:
    """The run's own lines: the engine adds a few of its own, marked `[engine] `."""
    return [line for line in lines if not line.startswith(ENGINE_PREFIX)]


def check_numbered(lines: Sequence[str], context: str = "") -> int:
    """Assert `lines` are exactly `n 0000000` .. `n N-1` then `total N`; returns N.

    On failure the message counts what was lost, doubled and out of order, rather than
    dumping a diff of a hundred thousand lines.
    """
    assert lines, f"no lines at all {context}"
    last = lines[-1]
    assert last.startswith("total "), f"last line {last!r}, not `total N` {context}"
    total = int(last.split()[1])
    want = [f"n {i:07d}" for i in range(total)]
    got = list(lines[:-1])
    if got != want:
        counts = Counter(got)
        missing = [w for w in want if w not in counts]
        doubled = {line: c for line, c in counts.items() if c > 1}
        foreign = [line for line in counts if not line.startswith("n ")]
        first = next(
            (i for i, (a, b) in enumerate(zip(got, want, strict=False)) if a != b),
            min(len(got), len(want)),
        )
        raise AssertionError(
            f"{context}: {len(got)} lines for {total}; {len(missing)} missing"
            f" (first {missing[:3]}), {len(doubled)} doubled (first {list(doubled)[:3]}),"
            f" foreign {foreign[:3]}; first difference at {first}:"
            f" got {got[first : first + 3]} want {want[first : first + 3]}"
        )
    return total


@dataclass
class KillSchedule:
    """Random up/down times for the engine, from one seed."""

    seed: int
    cycles: int
    rng: random.Random = field(init=False)
    kills: list[float] = field(default_factory=list)
    restarts: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def up_time(self) -> float:
        """How long the engine serves before the next kill: often short, sometimes longer."""
        return self.rng.choice([0.05, 0.2, 0.5, 1.0]) * self.rng.uniform(0.5, 2.0)

    def down_time(self) -> float:
        return self.rng.uniform(0.0, 1.0)

    def kill(self, engine: Any) -> None:
        # The moment the signal goes: clients may notice before engine.kill() has reaped it.
        self.kills.append(time.monotonic())
        engine.kill()

    def restart(self, engine: Any) -> None:
        """Start it again; the time recorded is when it answers (start() waits for that)."""
        port = engine.port
        engine.start()
        assert engine.port == port, "the engine came back on another port"
        self.restarts.append(time.monotonic())

    def describe(self) -> str:
        return f"seed={self.seed} cycles={self.cycles} (RUNWATCH_KILL_SEED replays it)"


def stop_file(tmp_path: Path) -> Path:
    return tmp_path / "stop-numbered"


def attempt_dir(engine: Any, run_id: str, attempt: int = 1) -> Path:
    return Path(engine.data_dir) / "runs" / run_id / f"attempt-{attempt}"


def wait_for_file(path: Path, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.02)


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def start_restartable_engine(data_dir: Path, extra_args: Sequence[str] = ()) -> Any:
    """An engine on a free port just below the ephemeral range, so it can restart on it.

    A port picked by the kernel (port 0) lies in the ephemeral range: while the engine is
    down, any outgoing connection on the machine (other tests' clients) may be given that
    port as its local one, and the restart then fails to bind. Below the range only a
    listener can take it.
    """
    from tests.conftest import EngineProcess

    low = _ephemeral_low()
    rng = random.SystemRandom()
    for _ in range(20):
        port = rng.randrange(max(1024, low - 10000), low) if low > 2048 else 0
        engine = EngineProcess(data_dir, port=port, extra_args=extra_args)
        try:
            engine.start()
        except RuntimeError as exc:
            if "cannot bind" in str(exc) and port:
                continue
            raise
        return engine
    raise RuntimeError("no free port below the ephemeral range")
