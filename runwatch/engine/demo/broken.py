"""Demo "broken": fails on every attempt with a traceback."""

import time
from typing import Any


def load_config(path: str) -> dict[str, str]:
    with open(path) as handle:
        return dict(line.split("=", 1) for line in handle)


def handler(input_data: dict[str, Any], context: Any) -> None:
    print(f"broken run, attempt {context.attempt}: loading configuration")
    time.sleep(0.5)
    load_config("/nonexistent/runwatch-demo/config.ini")
