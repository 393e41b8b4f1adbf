"""Which files a command reads: paths as given, folders expanded, each file once."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from callspec.errors import SpecError, UsageError
from callspec.spec.loader import is_symlink_loop, load_file, resolved
from callspec.spec.profiles import find_profiles_file, is_profiles_filename

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


def hook_targets(paths: Sequence[Path], environ: Mapping[str, str]) -> list[Path]:
    """The specs a pre-commit hook checks for the changed files ``paths``.

    A changed spec is checked; a changed profiles file (``profiles.yaml``) brings
    in every spec below its folder that uses it; a YAML file with neither a
    top-level ``calls`` nor ``profiles`` (a CI workflow, say) is no spec and is
    skipped.  A file that cannot be read is kept: checking it says why.
    """
    targets: list[Path] = []
    for path in paths:
        if is_profiles_filename(path):
            for spec in collect_spec_files([path.parent]) if path.parent.is_dir() else []:
                if _uses(spec, path, environ) and _is_spec(spec):
                    targets.append(spec)
        elif _is_spec(path):
            targets.append(path)
    return list({resolved(p): p for p in targets}.values())


def _uses(spec: Path, profiles: Path, environ: Mapping[str, str]) -> bool:
    found = find_profiles_file(None, spec.parent, environ)
    return found is not None and resolved(found) == resolved(profiles)


def _is_spec(path: Path) -> bool:
    try:
        doc = load_file(path)
    except SpecError:
        return True  # broken: validating it reports where
    return isinstance(doc.data, dict) and "calls" in doc.data
