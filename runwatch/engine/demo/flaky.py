"""Demo "flaky": fails on its first attempt, succeeds on the retry."""

import sys
import time
from typing import Any


def handler(input_data: dict[str, Any], context: Any) -> None:
    print(f"flaky run, attempt {context.attempt}")
    for step in range(1, 6):
        print(f"step {step}/5")
        time.sleep(0.3)
    if context.attempt == 1:
        print("simulated transient failure: connection reset by peer", file=sys.stderr)
        raise ConnectionResetError("simulated transient failure")
    print("done on attempt", context.attempt)
