"""Demo "train": a training-like run that logs progress for about a minute and succeeds."""

import math
import random
import time
from typing import Any


def handler(input_data: dict[str, Any], context: Any) -> dict[str, float]:
    epochs = int(input_data.get("epochs", 5))
    steps = int(input_data.get("steps", 24))
    delay = float(input_data.get("delay", 0.5))
    rng = random.Random(int(input_data.get("seed", 7)))
    print(
        f"training run {context.run_id}, attempt {context.attempt}: {epochs} epochs x {steps} steps"
    )
    loss, accuracy = 2.5, 0.1
    for epoch in range(1, epochs + 1):
        for step in range(1, steps + 1):
            progress = ((epoch - 1) * steps + step) / (epochs * steps)
            loss = 2.5 * math.exp(-3 * progress) + rng.uniform(0, 0.05)
            accuracy = min(0.99, 0.1 + 0.85 * (1 - math.exp(-4 * progress)) + rng.uniform(0, 0.01))
            print(f"epoch={epoch} step={step} loss={loss:.4f} accuracy={accuracy:.4f}")
            time.sleep(delay)
        print(f"epoch {epoch} done: val_loss={loss * 1.1:.4f} val_accuracy={accuracy * 0.97:.4f}")
    print("training finished")
    return {"loss": loss, "accuracy": accuracy}
