"""Demo "flood": writes tens of thousands of lines as fast as it can."""

from typing import Any


def handler(input_data: dict[str, Any], context: Any) -> None:
    lines = int(input_data.get("lines", 50_000))
    for index in range(1, lines + 1):
        print(f"line {index} of {lines}: the quick brown fox jumps over the lazy dog")
    print("flood finished")
