"""`runwatch metrics RUN_ID [-f] [--json|--csv]`: the metric points a run's log shows.

The points are read by `runwatch.follow.metrics` (the same parser as the dashboard's charts)
from the whole log, read once as `runwatch logs` reads it, or followed as `logs -f` follows it.

Exit status: 0 when the run SUCCEEDED (or is still going, without -f), 1 when it FAILED,
2 for usage and connection errors, 130 on Ctrl-C.
"""

from __future__ import annotations

import argparse
import csv
import io
from collections.abc import Sequence
from typing import TYPE_CHECKING

from runwatch.cli import command_setup, common, formats, terminal_output

if TYPE_CHECKING:
    from runwatch.config import Settings
    from runwatch.follow.metrics import Point

CSV_HEADER = ("name", "value", "step", "timestamp")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "metrics",
        help="print the metrics a run's log shows (loss, accuracy, ...)",
        description="Print the metric points read from a run's log: JSON lines, dict reprs, "
        "key=value and key: value runs, Keras, Lightning, PyTorch, nanoGPT, Megatron, "
        "torchvision and XGBoost lines. With -f, follow new lines until the run has finished; "
        f"{common.RUN_END_STATUS}.",
    )
    common.add_run_flags(parser, follow="follow new lines until the run ends")
    parser.add_argument("--csv", action="store_true", help="CSV: a header, then a row a point")
    add_pattern_flag(parser)
    common.add_common_flags(
        parser, json_help="one JSON object per point: name, value, step, timestamp"
    )
    parser.set_defaults(command_module=__name__)


def add_pattern_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--pattern",
        metavar="REGEX",
        help="a regular expression for a log format of your own: named groups are metrics, "
        "a group named step is the step (default: the profile's metric_pattern or "
        "$RUNWATCH_METRIC_PATTERN)",
    )


def metric_pattern(args: argparse.Namespace, settings: Settings) -> str | None:
    """The custom format to read (for `MetricParser.for_pattern`): --pattern over the
    settings' metric_pattern."""
    from runwatch.config.files import metric_pattern_problem

    text = common.flag(args, "pattern") or settings.metric_pattern
    if not text:
        return None
    problem = metric_pattern_problem(text)
    if problem:
        raise common.UsageError(f"--pattern {problem}")
    return str(text)


def run(args: argparse.Namespace) -> int:
    return command_setup.run_command(args, lambda settings: _main(args, settings))


async def _main(args: argparse.Namespace, settings: Settings) -> int:
    from runwatch.api.models import Run
    from runwatch.follow.metrics import MetricParser

    as_json = bool(getattr(args, "json", False))
    if as_json and args.csv:
        raise common.UsageError("--json and --csv cannot be combined")
    parser = MetricParser.for_pattern(metric_pattern(args, settings))
    out = PointWriter("json" if as_json else "csv" if args.csv else "text")
    from runwatch.cli.logs_cmd import follow_logs, open_run

    async with open_run(args, settings) as (client, organization, deployment_id, data):
        if args.follow:
            return await follow_logs(
                client,
                settings,
                organization,
                deployment_id,
                args.run_id,
                reconnect=command_setup.engine_reconnector(args, settings),
                emit=lambda batch: out.write(parser.feed_events(batch)),
            )
        from runwatch.follow.log_read import read_log

        if data is None:
            data = await client.get_run(organization, deployment_id, args.run_id)
        run = Run.from_wire(data)
        async for batch in read_log(client, organization, deployment_id, args.run_id):
            out.write(parser.feed_events(batch))
        if args.csv:
            out.write([])  # the header even when there is no point
        return formats.exit_status_for(run.status)


def show_value(value: float) -> str:
    """A value as text: the shortest form that reads back as the same float."""
    return repr(value) if not value.is_integer() or abs(value) >= 1e16 else str(int(value))


def _text_line(timestamp: str, step: str, name: str, value: str) -> str:
    # Fixed widths, so a followed stream lines up without knowing what comes next.
    return f"{timestamp:<27}  {step:>8}  {name:<16}  {value}"


class PointWriter:
    """Points as text lines, JSON lines or CSV rows, one write per batch."""

    def __init__(self, form: str) -> None:
        self.form = form
        self.lines = terminal_output.LineWriter()
        self._header_done = False

    def write(self, points: Sequence[Point]) -> None:
        if self.form == "csv":
            self._write_csv(points)
        elif self.form == "json":
            self.lines.write_lines(
                [
                    terminal_output.dump_json(
                        {"name": p.name, "value": p.value, "step": p.step, "timestamp": p.timestamp}
                    )
                    for p in points
                ]
            )
        else:
            lines = [
                _text_line(p.timestamp or "-", str(p.step), p.name, show_value(p.value))
                for p in points
            ]
            if not self._header_done and lines:
                self._header_done = True
                lines.insert(0, _text_line("TIMESTAMP", "STEP", "NAME", "VALUE"))
            self.lines.write_lines(lines)

    def _write_csv(self, points: Sequence[Point]) -> None:
        buffer = io.StringIO()
        rows = csv.writer(buffer, lineterminator="\n")
        if not self._header_done:
            self._header_done = True
            rows.writerow(CSV_HEADER)
        for p in points:
            rows.writerow((p.name, show_value(p.value), p.step, p.timestamp or ""))
        text = buffer.getvalue()
        if text:
            self.lines.write_lines(text[:-1].split("\n"))
