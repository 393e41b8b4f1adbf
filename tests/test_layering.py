"""The package's layering, proved by reading its modules: a thin CLI over a library.

Only ``callspec/cli/`` imports click, and only it (with the Action's entry point) ends
the process: every command below it returns a result that owns its exit code.  Each
piece of shared machinery is defined once (a second copy is how a rule fixed in one
place stayed broken in another).
"""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

import callspec

PACKAGE = Path(callspec.__file__).parent
#: The one home of each shared helper: masking, outside text, did-you-mean, positions,
#: file identity, errno words.
ONE_OF_EACH = {
    "mask_userinfo": "redact.py",
    "spellings": "redact.py",
    "outside": "text.py",
    "escape_controls": "text.py",
    "cut": "text.py",
    "suggest": "spec/validate.py",
    "line_col": "errors.py",
    "same_file": "paths.py",
    "errno_text": "delivery/journal.py",
}


def _modules() -> dict[str, ast.Module]:
    modules = {
        str(path.relative_to(PACKAGE)): ast.parse(path.read_text(encoding="utf-8"), str(path))
        for path in PACKAGE.rglob("*.py")
    }
    assert len(modules) > 100  # the whole package was read
    return modules


def _imported(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def _exits(tree: ast.Module) -> list[int]:
    """Lines calling sys.exit, os._exit, exit or quit."""
    lines = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            if (func.value.id, func.attr) in {("sys", "exit"), ("os", "_exit")}:
                lines.append(node.lineno)
        elif isinstance(func, ast.Name) and func.id in {"exit", "quit"}:
            lines.append(node.lineno)
    return lines


def test_only_the_cli_imports_click() -> None:
    below = [
        name
        for name, tree in _modules().items()
        if not name.startswith("cli/") and "click" in _imported(tree)
    ]
    assert below == []


def test_only_the_cli_and_the_action_s_entry_point_end_the_process() -> None:
    exits = {
        f"{name}:{line}"
        for name, tree in _modules().items()
        if not name.startswith("cli/") and name != "action/__main__.py"
        for line in _exits(tree)
    }
    assert exits == set()


def test_each_shared_helper_is_defined_once_in_its_home() -> None:
    defined: Counter[str] = Counter()
    homes: dict[str, str] = {}
    for name, tree in _modules().items():
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.name in ONE_OF_EACH:
                defined[node.name] += 1
                homes[node.name] = name
    assert defined == Counter(dict.fromkeys(ONE_OF_EACH, 1))
    assert homes == ONE_OF_EACH
