"""Lines redrawn with carriage returns, run by hand: `python tests/bench/bench_redraw.py`.

Prints:
- the supervisor's line cutter alone: MB/s and lines/s on plain lines (the cost it adds to
  every line of every run), redraws/s on a tqdm-like bar;
- a real supervisor over a handler that redraws a bar as fast as it can for a few seconds (no
  newline): how many redraws reached the pipe and how many events went to the spool.

Not collected by pytest (the file name does not match test_*.py).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from runwatch.engine.attempts import split_events  # noqa: E402
from runwatch.engine.redraw import LineCutter  # noqa: E402

BAR_STATE = b"\rEpoch 1/5:  45%|########9           | 43/96 [00:05<00:06, 8.27it/s]"
PLAIN_LINE = b"run run-1 line 12345 loss=0.1234 accuracy=0.9876 some padding text\n"
HANDLER = """
import sys, time

def handler(input_data, context):
    end = time.monotonic() + float(input_data["seconds"])
    n = 0
    while time.monotonic() < end:
        n += 1
        sys.stdout.write(f"\\r{n} redraws")
        sys.stdout.flush()
    sys.stdout.write(f"\\rdone after {n} redraws\\n")
"""


def cutter_alone(chunks: int) -> None:
    for name, unit in ((PLAIN_LINE, "lines"), (BAR_STATE, "redraws")):
        chunk = name * (65536 // len(name))
        cutter = LineCutter()
        started = time.perf_counter()
        for i in range(chunks):
            cutter.feed(chunk, i * 0.001, i)
            cutter.due(i * 0.001)
        seconds = time.perf_counter() - started
        count = chunks * (65536 // len(name))
        print(
            f"line cutter, {unit}: {chunks * len(chunk) / seconds / 1e6:,.0f} MB/s,"
            f" {count / seconds:,.0f} {unit}/s"
        )


def real_supervisor(seconds: float) -> None:
    with tempfile.TemporaryDirectory(prefix="runwatch-bench-redraw-") as tmp:
        code, attempt = Path(tmp) / "code", Path(tmp) / "attempt"
        code.mkdir()
        attempt.mkdir()
        (code / "main.py").write_text(HANDLER)
        spec = {
            "code_dir": str(code),
            "handler": "main:handler",
            "input_data": {"seconds": seconds},
            "environment": {},
            "context": {"run_id": "run-1", "attempt": 1},
        }
        (attempt / "spec.json").write_text(json.dumps(spec))
        subprocess.run(
            [sys.executable, "-m", "runwatch.engine.supervisor", str(attempt)],
            check=True,
            cwd=ROOT,
        )
        groups, _ = split_events((attempt / "spool").read_bytes())
        lines = [line for _, group in groups for line in group]
        redraws = int(lines[-1].split()[2])
        print(
            f"real supervisor, {seconds:.0f} s of a bar redrawn flat out: {redraws:,} redraws"
            f" ({redraws / seconds:,.0f}/s), {len(lines)} events stored: {lines[:2]} ..."
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--chunks", type=int, default=2000)
    args = parser.parse_args()
    cutter_alone(args.chunks)
    real_supervisor(args.seconds)


if __name__ == "__main__":
    main()
