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
