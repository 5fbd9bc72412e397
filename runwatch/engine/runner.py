"""The handler process of one attempt: `python .../runwatch/engine/runner.py ATTEMPT_DIR`.

Started by the supervisor in the attempt's own working dir with the run's environment (see
isolation.py). Imports `module:function` from the version's code dir and calls
`function(input_data, context)`.
An exception prints its traceback (to the log) and exits 1. Stdlib only: it must start fast.
"""

from __future__ import annotations

import importlib
import json
import os
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


_CAP_DAC_OVERRIDE = 1
_PR_CAPBSET_DROP = 24
_CAP_VERSION_3 = 0x20080522


def bind_file_modes() -> bool:
    """As root, give up CAP_DAC_OVERRIDE (Linux): file modes then bind this process and its
    children as any owner's, so the read-only version dir stays unwritten. Root in a container
    is common, and without this a write through a symlink of the working dir or through
    `__file__` would change the code every later run executes. True when dropped.
    """
    if os.geteuid() != 0 or not sys.platform.startswith("linux"):
        return False
    import ctypes  # only here: a run that is not root's starts without it

    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class Data(ctypes.Structure):
        _fields_ = [(name, ctypes.c_uint32) for name in ("effective", "permitted", "inheritable")]

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        # Out of the bounding set first, so a program this one execs (as root) cannot regain it.
        libc.prctl(_PR_CAPBSET_DROP, _CAP_DAC_OVERRIDE, 0, 0, 0)
        header = Header(_CAP_VERSION_3, 0)
        data = (Data * 2)()
        if libc.capget(ctypes.byref(header), data) != 0:
            return False
        keep = ~(1 << _CAP_DAC_OVERRIDE) & 0xFFFFFFFF
        data[0].effective &= keep
        data[0].permitted &= keep
        data[0].inheritable &= keep
        return bool(libc.capset(ctypes.byref(header), data) == 0)
    except (OSError, AttributeError):
        return False


def main(argv: list[str]) -> int:
    spec = json.loads((Path(argv[1]) / "spec.json").read_text())
    bind_file_modes()
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
