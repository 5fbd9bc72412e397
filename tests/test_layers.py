"""Imports flow one way: tui/cli -> follow -> api; the engine stands alone.

Checked on the source (every import statement, function-level ones included), so a shortcut
added anywhere fails here rather than in a review.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "runwatch"

# What each part may import from runwatch (besides itself). `runwatch` alone is the
# package's __init__ (its version).
ALLOWED: dict[str, set[str]] = {
    "engine": set(),
    "api": {"runwatch"},
    "config": {"runwatch"},
    "json_text": set(),
    "follow": {"runwatch", "api"},
    "tui": {"runwatch", "api", "follow", "config", "json_text"},
    "cli": {"runwatch", "api", "follow", "config", "json_text", "engine"},
}
# The command that opens the dashboard is the one place the command line reaches the TUI.
CLI_TO_TUI = {"app_cmd.py"}


def _part(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "runwatch"


def _imports(path: Path) -> list[tuple[str, bool]]:
    """(module, only for type checking) for each runwatch import in the file."""
    tree = ast.parse(path.read_text())
    typing_only: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            typing_only.update(id(child) for child in ast.walk(node))
    found = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        found += [(name, id(node) in typing_only) for name in names if name.startswith("runwatch")]
    return found


FILES = sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_flow_one_way(path: Path) -> None:
    relative = path.relative_to(PACKAGE)
    here = relative.parts[0].removesuffix(".py")
    if here in ("__init__", "__main__"):
        return  # the entry points dispatch to every part
    allowed = ALLOWED[here]
    for module, typing_only in _imports(path):
        there = _part(module)
        if there == here or typing_only:
            continue
        if here == "cli" and there == "tui" and relative.name in CLI_TO_TUI:
            continue
        assert there in allowed, f"{relative} imports {module}"


def test_the_check_sees_a_forbidden_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from runwatch.tui.app import RunwatchApp\n")
    assert ("runwatch.tui.app", False) in _imports(bad)


# Inside tui/: app -> screens -> panes -> widgets -> the base modules. A module may import
# from its own level or the levels below it, never above (TYPE_CHECKING imports count: a
# circle only for the type checker is still a circle for a reader).
TUI_LEVELS: dict[str, int] = {
    "app": 4,
    "commands": 4,
    "screens": 3,
    "panes": 2,
    "session": 2,
    "widgets": 1,
    "connection": 1,
    "compositor": 0,
    "format": 0,
    "state": 0,
    "__init__": 0,
}


def _tui_level(relative: Path) -> int:
    """The level of a module under runwatch/tui, from its path below tui/."""
    return TUI_LEVELS[relative.parts[0].removesuffix(".py")]


def _tui_module_level(module: str) -> int:
    parts = module.split(".")[2:]  # runwatch.tui.<here>...
    return TUI_LEVELS[parts[0]] if parts else 0


TUI_FILES = [p for p in FILES if p.relative_to(PACKAGE).parts[0] == "tui"]


@pytest.mark.parametrize("path", TUI_FILES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_tui_imports_flow_down(path: Path) -> None:
    level = _tui_level(path.relative_to(PACKAGE / "tui"))
    for module, _typing_only in _imports(path):
        if module.startswith("runwatch.tui"):
            there = _tui_module_level(module)
            assert there <= level, f"{path.relative_to(PACKAGE)} imports {module}"


def test_the_tui_check_sees_an_upward_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from runwatch.tui.screens.main import MainScreen\n"
    )
    (module, typing_only), *_ = _imports(bad)
    assert typing_only and _tui_module_level(module) > TUI_LEVELS["panes"]
