"""Which files a command reads: paths as given, folders expanded, each file once."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from callspec.errors import SpecError, UsageError
from callspec.spec.loader import is_symlink_loop, load_file, resolved
from callspec.spec.profiles import PROFILES_ENV, find_profiles_file, is_profiles_filename
from callspec.spec.validate import closest

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


@dataclass(frozen=True)
class HookTargets:
    """What a pre-commit hook checks: specs, and profiles files (each checked alone too)."""

    specs: tuple[Path, ...]
    profiles: tuple[Path, ...]


def hook_targets(paths: Sequence[Path], environ: Mapping[str, str]) -> HookTargets:
    """What a pre-commit hook checks for the changed files ``paths``.

    A changed spec is checked.  A changed profiles file (named ``profiles.yaml``,
    named by ``$CALLSPEC_PROFILES``, or holding a top-level ``profiles``) is
    checked, with every spec below its folder that uses it.  A deleted file, and
    YAML that is no spec (a CI workflow, a Helm template: no top-level ``calls`` nor a
    slip for it such as ``call:``), are skipped (what a spec is: :func:`is_spec`).  A
    spec that cannot be read is kept: checking it says why.
    """
    named = environ.get(PROFILES_ENV)
    specs: list[Path] = []
    profiles: list[Path] = []
    for path in paths:
        if not (path.exists() or is_symlink_loop(path)) or path.is_dir():
            continue
        kind = _kind(path)
        is_named = bool(named) and _same(path, Path(str(named)))
        if is_profiles_filename(path) or kind == "profiles" or is_named:
            profiles.append(path)
            folder = path.parent
            candidates = collect_spec_files([folder]) if _has_specs(folder) else []
            specs += [s for s in candidates if _uses(s, path, environ) and _kind(s) == "spec"]
        elif kind == "spec":
            specs.append(path)
    return HookTargets(_once(specs), _once(profiles))


def _once(paths: list[Path]) -> tuple[Path, ...]:
    return tuple({resolved(p): p for p in paths}.values())


def _same(a: Path, b: Path) -> bool:
    return resolved(a) == resolved(b)


def _has_specs(folder: Path) -> bool:
    try:
        collect_spec_files([folder])
    except UsageError:
        return False
    return True


def _uses(spec: Path, profiles: Path, environ: Mapping[str, str]) -> bool:
    found = find_profiles_file(None, spec.parent, environ)
    return found is not None and _same(found, profiles)


_CALLS_LINE = re.compile(r"^(?:\ufeff)?calls?\s*:", re.MULTILINE | re.IGNORECASE)
#: How an editor may have saved a YAML file; callspec reads only UTF-8, but a spec saved
#: in another of these is still a spec (reported as not UTF-8), not YAML to skip.
_ENCODINGS = ("utf-8", "utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be")


def _has_calls_line(head: bytes) -> bool:
    """Whether a top-level ``calls:`` line is in ``head``, in any of the encodings."""
    for encoding in _ENCODINGS:
        for start in range(0, 4 if encoding.startswith("utf-32") else 2):
            if _CALLS_LINE.search(head[start:].decode(encoding, errors="ignore")):
                return True
            if encoding == "utf-8":
                break
    return False


def _kind(path: Path) -> str:
    """``spec``, ``profiles`` or ``other``; unreadable YAML that has a top-level
    ``calls:`` line (in UTF-8, or as UTF-16 or UTF-32 saved it) is a broken spec
    (reported), else no spec (skipped)."""
    try:
        doc = load_file(path)
    except SpecError:
        try:
            head = path.read_bytes()[: 1 << 20]
        except OSError:
            return "spec"
        return "spec" if _has_calls_line(head) else "other"
    if is_spec(doc.data):
        return "spec"
    if isinstance(doc.data, dict) and "profiles" in doc.data:
        return "profiles"
    return "other"


def is_spec(data: object) -> bool:
    """Whether a loaded YAML document is a spec: a mapping with a top-level ``calls``, or with
    a key that is a slip for it (``call:``, ``Calls:``).  The pre-commit hook checks such a
    file, and ``validate`` then says what is wrong with it, never "not a spec"."""
    if not isinstance(data, dict):
        return False
    return "calls" in data or any(
        isinstance(key, str) and closest(key, ("calls",), cutoff=0.8) for key in data
    )
