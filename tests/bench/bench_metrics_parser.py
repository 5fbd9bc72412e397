"""Metrics parser throughput: lines/s on a realistic mixed log, and on metric-dense lines.

    PYTHONPATH=. python tests/bench/bench_metrics_parser.py [LINES]

Target (issue 13): at least 200,000 lines/s on the mixed log, where most lines carry no
metric. The mixed log is what a training run prints: timestamped logger lines (with colons),
warnings, a traceback, tqdm bars, paths, and one metric line in 20 of the corpus's formats.
The dense figure feeds only metric lines (every format of tests/follow/metrics_corpus.py).
Each figure is lines per CPU second of this process (`time.process_time`, so other work on
a shared machine does not count), the best of 5 passes over the same lines by a fresh parser.
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from runwatch.follow.metrics import MetricParser  # noqa: E402
from tests.follow.metrics_corpus import CORPUS, NEGATIVES  # noqa: E402

PLAIN = [
    "2026-12-01 10:00:{s:02d},123 INFO __main__: loading shard {i} of 128 from /data/train",
    "2026-12-01 10:00:{s:02d},456 WARNING torch.distributed: NCCL_DEBUG not set; using defaults",
    "[rank0]: Using device cuda:0 for worker {i}",
    '  File "/opt/conda/lib/python3.11/site-packages/torch/nn/modules/module.py", line {i}',
    "Saving checkpoint to /ckpt/step-{i}.pt",
    " {p}%|████▌     | {i}/10000 [00:10<00:12, 44.1it/s]",
    "batch {i} done",
    "\x1b[32mINFO\x1b[0m dataloader worker {i} ready",
    "Some weights of BertForSequenceClassification were not initialized from the model checkpoint",
    "You should probably TRAIN this model on a down-stream task to be able to use it",
]


def mixed_log(count: int, metric_share: float = 0.05) -> list[str]:
    rng = random.Random(13)
    metric_lines = [line for lines in CORPUS.values() for line, _ in lines]
    lines = []
    for i in range(count):
        if rng.random() < metric_share:
            lines.append(rng.choice(metric_lines))
        elif rng.random() < 0.1:
            lines.append(rng.choice(NEGATIVES))
        else:
            lines.append(rng.choice(PLAIN).format(i=i, s=i % 60, p=i % 100))
    return lines


def dense_log(count: int) -> list[str]:
    metric_lines = [line for lines in CORPUS.values() for line, points in lines if points]
    return [metric_lines[i % len(metric_lines)] for i in range(count)]


def lines_per_second(lines: list[str], passes: int = 5) -> tuple[float, int]:
    best = float("inf")
    points = 0
    for _ in range(passes):
        parser = MetricParser()
        feed = parser.feed
        start = time.process_time()
        points = 0
        for line in lines:
            points += len(feed(line, None))
        best = min(best, time.process_time() - start)
    return len(lines) / best, points


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    mixed = mixed_log(count)
    rate, points = lines_per_second(mixed)
    print(f"mixed log   : {rate:12,.0f} lines/s  ({count:,} lines, {points:,} points)")
    dense = dense_log(count // 4)
    rate, points = lines_per_second(dense)
    print(f"metric-dense: {rate:12,.0f} lines/s  ({len(dense):,} lines, {points:,} points)")
    rate, points = lines_per_second(mixed_log(count, metric_share=0.0))
    print(f"no metrics  : {rate:12,.0f} lines/s  ({count:,} lines, {points:,} points)")


if __name__ == "__main__":
    main()
