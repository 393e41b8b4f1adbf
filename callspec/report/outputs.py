"""Where a run's files go: output paths kept apart, probed before sending, written safely.

This module owns the filesystem side of the outputs (report, JUnit, HTML, journal):
which files a run writes (:class:`Outputs`, the default report folder, the journal
beside the report) and which it reads (none may be overwritten);
two outputs naming one file (through ``..``, symlinks or hard links) are a
usage error before anything is sent; every path is tried for real before the
first call; and a report is written atomically when it is a regular file, but
*into* a character device, a FIFO or an open descriptor's name (``/dev/null``,
``mkfifo``, ``/dev/stdout``), which a rename would replace by a regular file.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import stat
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from callspec.errors import UsageError
from callspec.paths import same_file

if TYPE_CHECKING:
    from callspec.delivery.options import RunOptions
    from callspec.report.registry import ReportKind
    from callspec.spec.model import PlanOptions

# /dev/stdout is a symlink to /proc/self/fd/1; whatever that points at (a terminal,
# a pipe, a redirected file), the user means "that descriptor", not "replace it".
_DESCRIPTOR = re.compile(r"^/(?:proc/(self|thread-self|\d+)|dev)/fd/(\d+)$")
_MAX_LINKS = 40  # Linux's own limit on a chain of symlinks


@dataclass(frozen=True)
class NamedOutput:
    """An output path and the option that names it (``default``: how it was chosen
    when the option was not given, e.g. ``beside the report``)."""

    option: str
    path: Path
    default: str = ""

    def __str__(self) -> str:
        return f"{self.option} (default: {self.default})" if self.default else self.option


def check_distinct(
    outputs: Sequence[NamedOutput],
    resume: Path | None = None,
    inputs: Sequence[tuple[str, Path]] = (),
) -> None:
    """Refuse (exit 2) two outputs on one file, an output over the journal to resume, or
    one over an input of the run (``inputs``: what each is, and its path).

    The journal may be the resumed one: that is how a resumed run appends to it.
    """
    for i, output in enumerate(outputs):
        for other in outputs[:i]:
            if same_file(output.path, other.path):
                raise UsageError(
                    f"{other} and {output} name the same file ({output.path}); "
                    "give each its own path"
                )
        if resume is not None and output.option != "--journal" and same_file(output.path, resume):
            raise UsageError(
                f"--resume and {output} name the same file ({output.path}): "
                "the run would overwrite the journal it resumes"
            )
        for what, path in inputs:
            if same_file(output.path, path):
                raise UsageError(
                    f"{output} names {what} {path}: the run reads it, and would overwrite it"
                )


def writes_in_place(path: Path) -> bool:
    """True for a path written into, not replaced: a character device, a FIFO, a descriptor."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return stat.S_ISCHR(mode) or stat.S_ISFIFO(mode) or _descriptor(path)[0]


def _descriptor(path: Path) -> tuple[bool, int | None]:
    """Whether ``path`` names a descriptor (``/dev/fd/N``, ``/proc/PID/fd/N``, through
    symlinks), and its number when it is one of this process's own."""
    name = os.path.abspath(path)
    for _ in range(_MAX_LINKS):
        match = _DESCRIPTOR.match(name)
        if match:
            owner, number = match.groups()
            ours = owner in (None, "self", "thread-self", str(os.getpid()))
            return True, int(number) if ours else None
        try:
            link = os.readlink(name)
        except OSError:
            return False, None
        name = os.path.normpath(os.path.join(os.path.dirname(name), link))
    return False, None


FIFO_WAIT = 60.0  # seconds a FIFO may keep a finished run waiting for its reader


def write_output(path: Path, data: bytes | BinaryIO, stop: threading.Event | None = None) -> None:
    """Write ``data`` (bytes, or a file read to its end) to ``path``: into it when
    :func:`writes_in_place`, else atomically.

    Atomically means a temp file beside the file, synced, then renamed over it, so
    a reader never sees half a report; through a symlink the file it points to is
    replaced, not the link.  A FIFO waits for a reader, but at most
    :data:`FIFO_WAIT` seconds (then OSError), and a Ctrl-C or SIGTERM (``stop``)
    ends the wait as an interruption: a run never hangs on its report.
    """
    own = _descriptor(path)[1]
    if own is not None:
        # Linux opens /proc/self/fd/1 anew, at offset 0 of a redirected file: the
        # shell's `> out` would then write over the report.  A dup shares the offset.
        with open(os.dup(own), "wb") as f:
            _copy(data, f)
        return
    if writes_in_place(path):
        fd = _open_in_place(path, stop)
        with open(fd, "wb") as f:
            _copy(data, f)
        return
    target = Path(os.path.realpath(path))
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with open(fd, "wb") as f:
            _copy(data, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _copy(data: bytes | BinaryIO, f: BinaryIO) -> None:
    if isinstance(data, bytes):
        f.write(data)
    else:
        shutil.copyfileobj(data, f, 1 << 16)


def _open_in_place(path: Path, stop: threading.Event | None) -> int:
    """Open a device or FIFO for writing; for a FIFO, wait (bounded) for its reader."""
    flags = os.O_WRONLY | os.O_APPEND | os.O_NOCTTY
    try:
        fifo = stat.S_ISFIFO(os.stat(path).st_mode)
    except OSError:
        fifo = False
    if not fifo:
        return os.open(path, flags)
    deadline = time.monotonic() + FIFO_WAIT
    while True:
        try:
            fd = os.open(path, flags | os.O_NONBLOCK)
        except OSError as e:  # ENXIO: no reader yet
            if e.errno != errno.ENXIO:
                raise
        else:
            os.set_blocking(fd, True)
            return fd
        if stop is not None and stop.is_set():
            raise KeyboardInterrupt  # the run was finished; its report was never read
        if time.monotonic() > deadline:
            raise OSError(errno.ENXIO, f"no reader opened the FIFO within {FIFO_WAIT:g} s")
        time.sleep(0.05)


def check_writable(path: Path, regular: bool = False) -> None:
    """Refuse (exit 2) an output path that cannot be written, before sending.

    ``regular``: only a regular file will do (the journal: it is synced, locked
    and read back by ``--resume``, which a device or a FIFO cannot be).

    A regular file is tried for real (a temp file where :func:`write_output` will
    put one: os.access says yes to root everywhere, /proc included).  A character
    device is opened for writing and closed, non-blocking.  A FIFO is *not*
    opened, only its permissions read: with no reader yet, opening it fails
    (ENXIO) though the reader may well come by the time the report is written;
    with a reader waiting, our open-and-close would hand it end-of-file at once,
    and the report would later find no one reading.  Other kinds of file (a
    socket, a block device) are refused.
    """
    try:
        mode: int | None = os.stat(path).st_mode
    except FileNotFoundError:
        mode = None
    except OSError as e:
        raise UsageError(f"cannot write {path}: {e.strerror or e}") from e
    if regular and writes_in_place(path):
        raise UsageError(f"cannot write {path}: the journal must be a regular file")
    own = _descriptor(path)[1]
    try:
        if own is not None:  # written through a dup of it: is it open for writing?
            import fcntl  # POSIX only, as are descriptor names

            if fcntl.fcntl(own, fcntl.F_GETFL) & os.O_ACCMODE == os.O_RDONLY:
                raise PermissionError(errno.EBADF, "open for reading only")
        elif mode is None or (stat.S_ISREG(mode) and not writes_in_place(path)):
            target = Path(os.path.realpath(path))
            target.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=target.parent, prefix=".callspec-check-"):
                pass
        elif stat.S_ISDIR(mode):
            raise UsageError(f"cannot write {path}: it is a folder")
        elif stat.S_ISFIFO(mode):
            if not os.access(path, os.W_OK):
                raise PermissionError(errno.EACCES, "Permission denied")
        elif stat.S_ISCHR(mode):
            os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK | os.O_NOCTTY))
        elif stat.S_ISREG(mode):  # another process's descriptor: appended to
            os.close(os.open(path, os.O_WRONLY | os.O_APPEND | os.O_NOCTTY))
        else:
            raise UsageError(f"cannot write {path}: not a file, character device or FIFO")
    except OSError as e:
        raise UsageError(f"cannot write {path}: {e.strerror or e}") from e


RUNS_DIR = Path(".callspec") / "runs"


@dataclass(frozen=True)
class Outputs:
    """Where a run writes and how the terminal shows it."""

    #: The JSON report's path (None: ``.callspec/runs/<time>/report.json``).
    report: Path | None = None
    #: Each other format written to a file, by its name in the registry (``junit``, ``html``).
    files: tuple[tuple[ReportKind, Path], ...] = ()
    progress: bool | None = None  # False: lines even where a bar is offered
    #: Only problems and the one-line summary (no line per call, no table, no notes).
    quiet: bool = False


def default_report_path() -> Path:
    """``.callspec/runs/<UTC time>/report.json`` in the working directory."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")
    return RUNS_DIR / stamp / "report.json"


def journal_beside(report: Path) -> Path:
    """The journal's default path: next to the report.

    A report written into a device, a FIFO or a descriptor (``/dev/null``,
    ``/dev/stdout``) has no folder of its own: the journal goes where a default
    report would be.
    """
    if writes_in_place(report):
        report = default_report_path()
    return report.with_name(report.stem + ".journal.jsonl")


def output_paths(
    report: Path, outputs: Outputs, options: RunOptions
) -> tuple[list[NamedOutput], RunOptions]:
    """Every file the run writes, by the option naming it; and the options with the
    journal's default filled in (the resumed journal, else beside the report)."""
    from callspec.report.registry import FORMATS

    journal, journal_default = options.journal, ""
    if journal is None and options.mode != "dry-run":
        if options.resume is not None:
            journal, journal_default = options.resume, "the --resume journal"
        else:
            journal, journal_default = journal_beside(report), "beside the report"
    elif journal is not None and options.resume is not None and same_file(journal, options.resume):
        journal = options.resume  # one spelling, so the runner opens and locks it once
    named = [
        NamedOutput("--report", report, "" if outputs.report else "a new run folder"),
        *(NamedOutput(FORMATS[kind].run_option or kind, path) for kind, path in outputs.files),
        NamedOutput("--journal", journal, journal_default) if journal else None,
    ]
    return [n for n in named if n is not None], replace(options, journal=journal)


def input_files(
    paths: Sequence[Path], options: PlanOptions, environ: Mapping[str, str]
) -> list[tuple[str, Path]]:
    """What the run reads (spec files, profiles files, the vars file), none to be overwritten."""
    from callspec.spec.files import collect_spec_files
    from callspec.spec.profiles import find_profiles_file

    try:
        specs = collect_spec_files(paths)
    except UsageError:
        return []  # the plan says so, with its own words
    inputs = [("the spec file", spec) for spec in specs]
    for folder in dict.fromkeys(spec.parent for spec in specs):
        found = find_profiles_file(options.profiles, folder, environ)
        if found is not None:
            inputs.append(("the profiles file", found))
    if options.vars_file is not None:
        inputs.append(("the vars file", options.vars_file))
    return list(dict.fromkeys(inputs))
