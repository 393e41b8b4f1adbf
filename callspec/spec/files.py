"""Which files a command reads: paths as given, folders expanded, each file once."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from callspec.errors import UsageError
from callspec.spec.loader import is_symlink_loop, resolved
from callspec.spec.profiles import is_profiles_filename

SPEC_SUFFIXES = (".yaml", ".yml")


def collect_spec_files(paths: Sequence[Path]) -> list[Path]:
    """Files as given; folders expand to every *.yaml/*.yml in them except profiles files.

    A symlink loop, given or found in a folder whatever its name, is kept: reading it
    then reports it, where skipping it would hide a spec that was meant to be there.
    """
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(
                p
                for p in sorted(path.rglob("*"))
                if ((p.suffix in SPEC_SUFFIXES and p.is_file()) or is_symlink_loop(p))
                and not is_profiles_filename(p)
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
        elif path.exists() or is_symlink_loop(path):
            found.append(path)
        else:
            raise UsageError(f"no such file or folder: {path}")
    if not found:
        raise UsageError("no spec files found in " + ", ".join(str(p) for p in paths))
    # One file named twice (a folder and a file in it, a symlink, ../x) is read once:
    # its calls would otherwise be placed twice.
    unique: dict[Path, Path] = {}
    for path in found:
        unique.setdefault(resolved(path), path)
    return list(unique.values())


def display_path(path: Path) -> str:
    """Paths print as given, relative to the working directory when under it."""
    try:
        return str(resolved(path).relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)
