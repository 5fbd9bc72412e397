"""Demo "train": a training-like run of about a minute that prints what training code prints.

A tqdm-style bar per epoch redrawn with carriage returns (messages are written over it the way
`tqdm.write` does), a `key=value` line per optimizer step (loss and accuracy, falling and rising
noisily), a Hugging Face Trainer dict every few steps, a Keras-style summary and a JSON line
per epoch, the Trainer's closing dict, and a couple of warnings. Each format carries metrics of
its own names, so every chart drawn from the log has one series per name.
"""

import json
import math
import random
import sys
import time
from typing import Any

ACCUMULATION = 4  # batches per optimizer step: the bar counts batches
LOGGING_STEPS = 8  # a Trainer dict every this many steps
BAR_WIDTH = 20
_EIGHTHS = " ▏▎▍▌▋▊▉"


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes:02d}:{secs:02d}"


def tqdm_bar(desc: str, n: int, total: int, elapsed: float) -> str:
    """The line tqdm draws: `Epoch 1/5:  45%|████████▉         | 43/96 [00:05<00:06, 8.1it/s]`."""
    fraction = n / total
    filled = fraction * BAR_WIDTH
    full = int(filled)
    body = "█" * full + (_EIGHTHS[int((filled - full) * 8)] if full < BAR_WIDTH else "")
    rate = n / elapsed if n and elapsed > 0 else 0.0
    if not rate:
        timing = f"{_clock(elapsed)}<?, ?it/s"  # before the first update, as tqdm shows it
    else:
        rate_text = f"{rate:.2f}it/s" if rate >= 1 else f"{1 / rate:.2f}s/it"
        timing = f"{_clock(elapsed)}<{_clock((total - n) / rate)}, {rate_text}"
    return f"{desc}: {fraction * 100:3.0f}%|{body.ljust(BAR_WIDTH)}| {n}/{total} [{timing}]"


class Bar:
    """A bar on stdout, redrawn in place; `write` puts a line above it as tqdm.write does."""

    def __init__(self, desc: str, total: int) -> None:
        self.desc, self.total, self.n = desc, total, 0
        self.started = time.monotonic()
        self.shown = ""
        self._draw()

    def _draw(self) -> None:
        text = tqdm_bar(self.desc, self.n, self.total, time.monotonic() - self.started)
        # Padded to the width of the state it replaces, as tqdm does.
        sys.stdout.write("\r" + text.ljust(len(self.shown)))
        sys.stdout.flush()
        self.shown = text

    def update(self) -> None:
        self.n += 1
        self._draw()

    def write(self, line: str) -> None:
        sys.stdout.write("\r" + " " * len(self.shown) + "\r" + line + "\n")
        self._draw()

    def close(self) -> None:
        sys.stdout.write("\n")
        sys.stdout.flush()


def handler(input_data: dict[str, Any], context: Any) -> dict[str, float]:
    epochs = int(input_data.get("epochs", 5))
    steps = int(input_data.get("steps", 24))
    delay = float(input_data.get("delay", 0.5))
    rng = random.Random(int(input_data.get("seed", 7)))
    total_steps = epochs * steps
    peak_lr = 5e-05
    print(
        f"training run {context.run_id}, attempt {context.attempt}: {epochs} epochs x {steps}"
        f" steps, gradient accumulation {ACCUMULATION}"
    )
    print("WARNING:root:CUDA is not available; training on the CPU will be slow")
    started = time.monotonic()
    loss = accuracy = 0.0
    losses: list[float] = []
    for epoch in range(1, epochs + 1):
        bar = Bar(f"Epoch {epoch}/{epochs}", steps * ACCUMULATION)
        for step in range(1, steps + 1):
            for _ in range(ACCUMULATION):
                time.sleep(delay / ACCUMULATION)
                bar.update()
            done = (epoch - 1) * steps + step
            progress = done / total_steps
            loss = 2.5 * math.exp(-3 * progress) + 0.08 + rng.gauss(0, 0.04)
            accuracy = 0.1 + 0.82 * (1 - math.exp(-4 * progress)) + rng.gauss(0, 0.015)
            accuracy = min(0.99, max(0.0, accuracy))
            losses.append(loss)
            bar.write(f"epoch={epoch} step={done} loss={loss:.4f} accuracy={accuracy:.4f}")
            if done % LOGGING_STEPS == 0:
                learning_rate = peak_lr * (1 - progress)
                grad_norm = abs(1.8 * math.exp(-2 * progress) + rng.gauss(0, 0.2))
                logs = {
                    "grad_norm": round(grad_norm, 4),
                    "learning_rate": float(f"{learning_rate:.3g}"),
                    "epoch": round(done / steps, 2),
                }
                bar.write(str(logs))
            if done == total_steps // 2:
                bar.write(
                    "WARNING: gradient norm 12.41 exceeded max_grad_norm=1.0 at step"
                    f" {done}; gradients were clipped"
                )
        bar.close()
        seconds = time.monotonic() - bar.started
        val_loss = loss * 1.1 + abs(rng.gauss(0, 0.03))
        val_accuracy = accuracy * 0.97
        print(
            f"{steps}/{steps} [==============================] - {seconds:.0f}s"
            f" {1000 * seconds / steps:.0f}ms/step - val_loss: {val_loss:.4f}"
            f" - val_accuracy: {val_accuracy:.4f}"
        )
        print(
            json.dumps(
                {
                    "epoch": epoch,
                    "step": epoch * steps,
                    "val_f1": round(val_accuracy * 0.95, 4),
                    "val_precision": round(min(0.99, val_accuracy * 1.01), 4),
                }
            )
        )
    runtime = time.monotonic() - started
    summary = {
        "train_runtime": round(runtime, 4),
        "train_samples_per_second": round(total_steps * ACCUMULATION * 8 / runtime, 3),
        "train_steps_per_second": round(total_steps / runtime, 3),
        "train_loss": round(sum(losses) / len(losses), 4),
        "epoch": float(epochs),
    }
    print(summary)
    print("training finished")
    return {"loss": loss, "accuracy": accuracy}
