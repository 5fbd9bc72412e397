"""Whole-log export through `get_run_logs` paging: runwatch's client vs the official SDK.

    python tests/bench/bench_export.py [--lines N]

Both sides run the same loop (`get_run_logs` with `next_token` until there is none, counting the
events) in a fresh subprocess, so neither pays for the other's imports or warm caches; only the
loop is timed. The SDK reads ABEJA_API_URL when it is imported, which is one more reason for a
subprocess: its environment is set before Python starts.
Not collected by pytest (the file name does not match test_*.py).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

# argv: client (runwatch|sdk), organization, deployment, run. Prints {"lines", "seconds"}.
LOOP = textwrap.dedent(
    """
    import json, os, sys, time

    kind, org, dep, run = sys.argv[1:5]
    if kind == "sdk":
        from abeja.runs import APIClient
        client = APIClient()
    else:
        from runwatch.api.client import APIClient
        client = APIClient(
            {"auth_token": os.environ["PLATFORM_AUTH_TOKEN"]}, base_url=os.environ["ABEJA_API_URL"]
        )
    # One page untimed: connection set-up and first-call costs are not what is compared.
    client.get_run_logs(org, dep, run)
    lines = 0
    token = None
    start = time.perf_counter()
    while True:
        page = client.get_run_logs(org, dep, run, next_token=token)
        lines += len(page["events"])
        token = page.get("next_token")
        if not token:
            break
    print(json.dumps({"lines": lines, "seconds": time.perf_counter() - start}))
    """
)


def client_env(url: str, organization: str, token: str) -> dict[str, str]:
    """The caller's environment without any ABEJA/PLATFORM/RUNWATCH settings, plus these."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("ABEJA_", "PLATFORM_", "RUNWATCH_"))
    }
    env.update(
        {"ABEJA_API_URL": url, "ABEJA_ORGANIZATION_ID": organization, "PLATFORM_AUTH_TOKEN": token}
    )
    return env


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def export_rate(
    kind: str, env: dict[str, str], organization: str, deployment: str, run_id: str
) -> tuple[int, float]:
    """(lines, lines per second) of one whole-log export with `kind` = "runwatch" or "sdk"."""
    out = subprocess.run(
        [sys.executable, "-c", LOOP, kind, organization, deployment, run_id],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    ).stdout
    result = json.loads(out.strip().splitlines()[-1])
    return int(result["lines"]), result["lines"] / result["seconds"]


def main() -> None:
    from tests.bench.bench_engine import Engine, prepare_reads

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="runwatch-bench-export-") as tmp:
        setup = prepare_reads(Path(tmp), args.lines, 100)
        engine = Engine(setup.data_dir)
        try:
            token = engine.client.headers["Authorization"].split(" ", 1)[1]
            env = client_env(engine.url, engine.org, token)
            for kind in ("runwatch", "sdk"):
                lines, rate = export_rate(
                    kind, env, engine.org, setup.deployment_id, setup.big_run_id
                )
                print(f"{kind:>8}: {lines:,} lines at {rate:,.0f} lines/s")
        finally:
            engine.stop()


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    main()
