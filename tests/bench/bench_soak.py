"""Soak: the dashboard following a run that prints N lines/s, in a real terminal, for minutes.

    python tests/bench/bench_soak.py [--rates 5000,1,0,done] [--minutes 10] [--sample 60]

For each rate, a real engine (its own process, a temporary data dir, no demo) runs a handler
that prints `rate` lines/s (rate 0 = idle: one line, then silence) for the whole soak; the
real dashboard (`python -m runwatch --local`) runs in a detached tmux at 120x40 (its own tmux
server) and follows that run, the only one of its deployment. Rate `done` is the other idle:
the run prints one line and finishes at once, so the dashboard is open on a deployment where
nothing is active. Once the log pane says "following" (or "end of log") and a few seconds
have passed, CPU time (utime + stime from /proc/PID/stat) and RSS
of the TUI, the engine and the tmux server are sampled every `--sample` seconds: each sample
prints the CPU used in that span as a percentage of one core and the RSS at its end. The
summary gives the mean CPU over the whole soak and the RSS growth after the first minute.

The 1-minute load average is printed with each sample: the machine is shared, and CPU time
counts only this process's work but not what waiting for a busy CPU does to the frame timing.
Not collected by pytest (the file name does not match test_*.py).
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from runwatch.api.client import APIClient  # noqa: E402 - the repository root first
from runwatch.engine.deploy import deploy  # noqa: E402
from runwatch.engine.launch import EngineHandle, ensure_engine, kill_attempts  # noqa: E402
from tests.bench.bench_tui_startup import Tmux, app_env  # noqa: E402

HANDLER = """\
import sys
import time


def handler(input_data, context):
    rate = float(input_data["rate"])
    seconds = float(input_data["seconds"])
    write = sys.stdout.write
    start = time.monotonic()
    if rate <= 0:
        print("idle from here on", flush=True)
        time.sleep(seconds)
        return
    done = 0
    while True:
        elapsed = time.monotonic() - start
        if elapsed >= seconds:
            return
        due = int(elapsed * rate) + 1
        for i in range(done, due):
            write(f"epoch={i // 10000} step={i} loss=0.{i % 9973:04d} accuracy=0.9876 soak line\\n")
        done = due
        sys.stdout.flush()
        time.sleep(min(0.01, 1 / rate))
"""

# The rate that stands for "no run active": the run finishes at once.
DONE = "done"

TICKS = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def cpu_seconds(pid: int) -> float:
    """utime + stime of `pid` (not its children), in seconds."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def rss_mb(pid: int) -> float:
    pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    return pages * PAGE / 1e6


@dataclass
class Process:
    name: str
    pid: int
    cpu: list[float] = field(default_factory=list)  # percent of one core, per sample
    rss: list[float] = field(default_factory=list)  # MB at the end of each sample
    _last: float = 0.0

    def start(self) -> None:
        self._last = cpu_seconds(self.pid)

    def sample(self, span: float) -> None:
        now = cpu_seconds(self.pid)
        self.cpu.append(100 * (now - self._last) / span)
        self._last = now
        self.rss.append(rss_mb(self.pid))


def start_profile(profile: Path, name: str, pid: int, seconds: float) -> subprocess.Popen[bytes]:
    """py-spy's collapsed stacks of the TUI over one sample (it adds some CPU of its own)."""
    out = profile / f"tui-{name}.txt"
    return subprocess.Popen(
        [
            *("py-spy", "record", "--pid", str(pid), "--format", "raw", "--nonblocking"),
            *("--duration", str(int(seconds)), "-o", str(out)),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def tui_pid(tmux: Tmux) -> int:
    return int(tmux.run("display-message", "-p", "-t", "bench", "#{pane_pid}").stdout.strip())


def tmux_server_pid(tmux: Tmux) -> int:
    return int(tmux.run("display-message", "-p", "-t", "bench", "#{pid}").stdout.strip())


def wait_for(tmux: Tmux, text: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in tmux.capture():
            return
        time.sleep(0.1)
    raise RuntimeError(f"{text!r} not on screen after {timeout} s:\n{tmux.capture()}")


def soak(
    root: Path,
    rate: float | str,
    minutes: float,
    sample: float,
    profile: Path | None = None,
    traces: Path | None = None,
    frames: int = 8,
) -> dict[str, Process]:
    done = rate == DONE
    name = str(rate) if done else f"{rate:g}"
    data_dir = root / f"engine-{name}"
    code = root / f"code-{name}"
    code.mkdir()
    (code / "main.py").write_text(HANDLER)
    deployed = deploy(data_dir, code, name="soak")
    engine: EngineHandle = ensure_engine(data_dir, timeout=60, extra_args=["--no-demo"])
    assert engine.process is not None
    tmux = Tmux()
    try:
        with APIClient({"auth_token": engine.token}, base_url=engine.url) as client:
            client.create_run(
                engine.organization_id,
                deployed.deployment_id,
                deployed.version_id,
                input_data={
                    "rate": "0" if done else str(rate),
                    "seconds": "0" if done else str(minutes * 60 + 120),
                },
                retry_count=0,
            )
        home = root / f"home-{name}"
        home.mkdir()
        prefix = " ".join(f"{k}={shlex.quote(v)}" for k, v in app_env(home, data_dir).items())
        unset = " ".join(
            f"-u {k}" for k in os.environ if k.startswith(("ABEJA_", "PLATFORM_", "RUNWATCH_"))
        )
        # This checkout first (the package may be installed from another one).
        path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
        pythonpath = f"PYTHONPATH={shlex.quote(path)}"
        runwatch = "-m runwatch"
        if traces is not None:
            # The app under tracemalloc, dumping a snapshot each sample (it runs slower).
            probe = Path(__file__).with_name("memory_probe.py")
            out = traces / f"rate-{name}"
            runwatch = shlex.join([str(probe), str(out), str(sample), str(frames), "--"])
        command = (
            f"exec env {unset} {prefix} {pythonpath} {shlex.quote(sys.executable)} {runwatch}"
            f" --local --deployment {deployed.deployment_id}"
        )
        tmux.run("new", "-d", "-s", "bench", "-x", "120", "-y", "40", command, check=True)
        wait_for(tmux, "end of log" if done else "following", 60)
        time.sleep(5)  # the first pages and the first poll of everything
        processes = {
            "tui": Process("tui", tui_pid(tmux)),
            "engine": Process("engine", engine.process.pid),
            "tmux": Process("tmux", tmux_server_pid(tmux)),
        }
        for process in processes.values():
            process.start()
        spy = None
        what = "no run active" if done else f"rate {rate:g} lines/s"
        print(f"{what}, {minutes:g} min; sample every {sample:g} s", flush=True)
        print("   t(s)  tui%cpu  tui MB  engine%cpu  engine MB  tmux%cpu  load1", flush=True)
        start = last = time.monotonic()
        while last - start < minutes * 60 - 0.5:
            # The profile covers a sample in the steady state: the one that starts after the
            # first minute (the log pane is full by then), or the last one.
            elapsed = last - start
            last_sample = minutes * 60 - elapsed < sample + 0.5
            if profile is not None and spy is None and (elapsed >= 60 or last_sample):
                spy = start_profile(profile, name, processes["tui"].pid, sample)
            time.sleep(max(0.0, last + sample - time.monotonic()))
            now = time.monotonic()
            for process in processes.values():
                process.sample(now - last)
            last = now
            t, e, x = processes["tui"], processes["engine"], processes["tmux"]
            print(
                f"{now - start:7.0f}  {t.cpu[-1]:7.1f}  {t.rss[-1]:6.1f}"
                f"  {e.cpu[-1]:10.1f}  {e.rss[-1]:9.1f}  {x.cpu[-1]:8.1f}"
                f"  {os.getloadavg()[0]:5.2f}",
                flush=True,
            )
        if spy is not None:
            spy.wait(timeout=60)
        screen = tmux.capture()
        return processes | {"_screen": screen}  # type: ignore[dict-item]
    finally:
        tmux.quit_app()
        engine.stop()
        kill_attempts(data_dir)


def summary(rate: float | str, processes: dict[str, Process], sample: float) -> None:
    per_minute = max(1, round(60 / sample))
    print("summary, no run active:" if rate == DONE else f"summary, rate {rate:g} lines/s:")
    for name in ("tui", "engine", "tmux"):
        p = processes[name]
        mean = sum(p.cpu) / len(p.cpu)
        growth = p.rss[-1] - p.rss[min(per_minute, len(p.rss)) - 1]
        print(
            f"  {name:6} mean CPU {mean:5.1f}% of a core (max sample {max(p.cpu):5.1f}%),"
            f" RSS {p.rss[0]:.1f} -> {p.rss[-1]:.1f} MB (+{growth:.1f} MB after the first minute)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rates",
        default="5000",
        help="lines/s, comma separated (0 = a silent running run, done = no run active)",
    )
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--sample", type=float, default=60.0, help="seconds between samples")
    parser.add_argument("--screen", action="store_true", help="print the last screen")
    parser.add_argument("--profile", type=Path, help="py-spy one sample of the TUI into DIR")
    parser.add_argument(
        "--tracemalloc",
        type=Path,
        metavar="DIR",
        help="run the TUI under tracemalloc (memory_probe.py), a snapshot each sample into DIR",
    )
    parser.add_argument(
        "--frames", type=int, default=8, help="tracemalloc's frames (0: object counts only)"
    )
    args = parser.parse_args()
    print(f"load average at start: {os.getloadavg()}", flush=True)
    for rate in (r if r == DONE else float(r) for r in args.rates.split(",")):
        with tempfile.TemporaryDirectory(prefix="rw-soak-") as tmp:
            processes = soak(
                Path(tmp),
                rate,
                args.minutes,
                args.sample,
                args.profile,
                args.tracemalloc,
                args.frames,
            )
        screen = processes.pop("_screen")
        summary(rate, processes, args.sample)
        if args.screen:
            print(screen)


if __name__ == "__main__":
    main()
