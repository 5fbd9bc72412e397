"""What keeps runs apart: each attempt's own working dir, a read-only code dir, and an
environment built from the run alone (never the engine's).

On the platform every run has its own container with the code as its working dir. Here:

- The attempt's working dir is `ATTEMPT_DIR/work` (also its HOME). It holds a symlink to each
  top-level entry of the version's code dir, so a handler that reads `./config.yaml` shipped
  with its code finds it as on the platform, while a file it creates (`./checkpoint.txt`) is
  its own. The code is imported from the version dir itself (not copied: a version may carry
  large model files, and tracebacks name the deployed files).
- The version dir is made read-only when it is deployed (write bits off), so a write through a
  symlink or through `__file__` fails instead of changing what every later run executes. A
  runner started as root drops CAP_DAC_OVERRIDE first (runner.py), so this holds for root too.
- The environment is the run's variables plus the small set below.

Stdlib only: the supervisor imports it and must start fast.
"""

from __future__ import annotations

import contextlib
import os
import site
import stat
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

WORK_DIR = "work"
# The run's own ids, as the platform's runner names them (they win over the run's variables).
ID_VARS = {
    "ABEJA_ORGANIZATION_ID": "organization_id",
    "ABEJA_DEPLOYMENT_ID": "deployment_id",
    "ABEJA_MODEL_VERSION": "model_version",
    "ABEJA_MODEL_VERSION_ID": "version_id",
    "ABEJA_RUN_ID": "run_id",
}
_WRITE_BITS = stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH


def handler_env(spec: Mapping[str, Any], work_dir: Path) -> dict[str, str]:
    """The handler's whole environment: the minimal set, the run's variables, the run's ids.

    Nothing else of the engine's environment (tokens, cloud keys, the user's shell) gets in.
    PATH keeps the engine's interpreter first, so `python` and `pip` in the run are the ones
    the engine runs on (its venv); PYTHONUSERBASE keeps that interpreter's user site.
    """
    code_dir = str(spec["code_dir"])
    run_vars = {str(k): str(v) for k, v in (spec.get("environment") or {}).items()}
    interpreter_bin = os.path.dirname(sys.executable)
    env = {
        "PATH": os.environ.get("PATH") or os.defpath,
        "LANG": os.environ.get("LANG") or "C.UTF-8",
        "HOME": str(work_dir),
        "PYTHONUNBUFFERED": "1",  # children that are Python print as they go
        # No bytecode cache written next to the code (where root could, were the capability
        # drop refused): a version holds only what was deployed.
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    if os.path.isdir(site.getuserbase()):
        env["PYTHONUSERBASE"] = site.getuserbase()
    env.update(run_vars)
    # The run may add to these two, never drop the interpreter or its code from them.
    env["PATH"] = os.pathsep.join(
        [interpreter_bin, *(p for p in env["PATH"].split(os.pathsep) if p != interpreter_bin)]
    )
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [code_dir, run_vars.get("PYTHONPATH")]))
    context = spec.get("context") or {}
    for name, key in ID_VARS.items():
        if context.get(key) is not None:
            env[name] = str(context[key])
    env["HANDLER"] = str(spec.get("handler", ""))
    return env


def make_work_dir(attempt_dir: Path, code_dir: Path) -> Path:
    """The attempt's working dir, with a symlink to each top-level entry of the code dir."""
    work = attempt_dir / WORK_DIR
    work.mkdir(mode=0o700, exist_ok=True)
    try:
        names = os.listdir(code_dir)
    except OSError:
        return work  # the runner reports the missing code when it imports the handler
    for name in names:
        # An entry already there is the attempt's own (a restarted supervisor): keep it.
        with contextlib.suppress(FileExistsError):
            os.symlink(code_dir / name, work / name)
    return work


def make_read_only(code_dir: Path) -> None:
    """Take the write bits off every file and dir of a version (links are left alone)."""
    for directory, dirs, files in os.walk(code_dir, topdown=False):
        for name in [*files, *dirs]:
            _drop_write(Path(directory) / name)
    _drop_write(code_dir)


def is_read_only(code_dir: Path) -> bool:
    try:
        return not os.stat(code_dir).st_mode & _WRITE_BITS
    except OSError:
        return True


def _drop_write(path: Path) -> None:
    with contextlib.suppress(OSError):
        mode = os.lstat(path).st_mode
        if not stat.S_ISLNK(mode) and mode & _WRITE_BITS:
            os.chmod(path, stat.S_IMODE(mode) & ~_WRITE_BITS)


def make_writable(path: Path) -> None:
    """Undo make_read_only on `path` and everything under it (to remove a version)."""
    for directory, _dirs, files in os.walk(path):
        for target in [Path(directory), *(Path(directory) / name for name in files)]:
            with contextlib.suppress(OSError):
                mode = os.lstat(target).st_mode
                if not stat.S_ISLNK(mode):
                    os.chmod(target, stat.S_IMODE(mode) | stat.S_IWUSR)
