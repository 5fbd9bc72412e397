"""The handler process of one attempt: `python .../runwatch/engine/runner.py ATTEMPT_DIR`.

Started by the supervisor in the attempt's own working dir with the run's environment (see
isolation.py). Imports `module:function` from the version's code dir and calls
`function(input_data, context)`.
An exception prints its traceback (to the log) and exits 1. Stdlib only: it must start fast.
"""

from __future__ import annotations

import importlib
import json
import sys
import traceback
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any


class Context(Mapping[str, Any]):
    """What the handler gets as its second argument: attributes and a read-only mapping."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self._data = dict(data)

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["_data"][name]
        except KeyError:
            raise AttributeError(name) from None

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return f"Context({self._data!r})"


def main(argv: list[str]) -> int:
    spec = json.loads((Path(argv[1]) / "spec.json").read_text())
    # One write per line (not per print fragment, not at exit): lines of the handler and of its
    # children interleave whole in the shared pipe and reach the log as they are written.
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(line_buffering=True, write_through=False)
    code_dir = spec["code_dir"]
    # Started by path, Python put this file's dir (runwatch/engine) first on the path: the
    # version's code takes its place, so a user's `common.py` is theirs, not the engine's.
    sys.path[0] = code_dir
    module_name, function_name = spec["handler"].split(":", 1)
    try:
        module = importlib.import_module(module_name)
        function = getattr(module, function_name)
        function(spec.get("input_data") or {}, Context(spec["context"]))
    except SystemExit:
        raise
    except BaseException as exc:
        sys.stdout.flush()
        # The first frame is this runner's own call: the user's code starts below it.
        tb = exc.__traceback__
        traceback.print_exception(type(exc), exc, tb.tb_next if tb and tb.tb_next else tb)
        sys.stderr.flush()
        return 1
    sys.stdout.flush()
    sys.stderr.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
