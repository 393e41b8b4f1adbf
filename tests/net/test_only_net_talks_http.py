"""callspec.net is the only code that talks HTTP: proved by every module's imports.

Each module of the package outside ``callspec/net/`` is parsed and every import it
makes (at the top or inside a function, where callspec loads its HTTP stack lazily) is
checked: none may be of an HTTP client library.  Servers are allowed (the sandbox is an
``http.server``); so are ``urllib.parse`` and ``http`` status names.
"""

from __future__ import annotations

import ast
from pathlib import Path

import callspec

PACKAGE = Path(callspec.__file__).parent
CLIENTS = ("requests", "urllib3", "http.client", "urllib.request")


def _imports(path: Path) -> list[tuple[int, str]]:
    """Every module ``path`` imports, with its line."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute | ast.Name)
            and getattr(node.func, "attr", getattr(node.func, "id", "")) == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            found.append((node.lineno, str(node.args[0].value)))
    return found


def _is_client(module: str) -> bool:
    return any(module == name or module.startswith(f"{name}.") for name in CLIENTS)


def test_no_module_outside_callspec_net_imports_an_http_client() -> None:
    outside = [p for p in PACKAGE.rglob("*.py") if "net" not in p.relative_to(PACKAGE).parts[:1]]
    assert len(outside) > 50  # the whole package was read
    offending = [
        f"{path.relative_to(PACKAGE.parent)}:{line}: {module}"
        for path in outside
        for line, module in _imports(path)
        if _is_client(module)
    ]
    assert offending == []


def test_the_check_sees_what_callspec_net_imports() -> None:
    inside = {m for p in (PACKAGE / "net").glob("*.py") for _, m in _imports(p)}
    assert {"requests", "urllib3.exceptions", "urllib.request"} <= inside
