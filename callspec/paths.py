"""One file under two spellings: the one test every stage uses to tell.

A relative and an absolute path, ``..``, a symlink or a hard link can all name
one file.  The outputs refuse two outputs on one file (or an output over an
input), and the runner opens a journal it also resumes once: both ask
:func:`same_file`.  Whether a path still names the file opened earlier (a journal,
the answer service's store) is :func:`file_identity` compared.
"""

from __future__ import annotations

import os
from pathlib import Path


def same_file(a: Path, b: Path) -> bool:
    """True when ``a`` and ``b`` name one file: the same path once ``..`` and symlinks are
    resolved, or (both existing) the same inode, which also catches hard links."""
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:  # one does not exist (yet): only the spelling could make them one
        return False


def file_identity(target: Path | int) -> tuple[int, int]:
    """Which file ``target`` (a path, or an open descriptor) is: its device and inode.
    A file deleted and made again, or another moved into its place, is another."""
    stat = os.fstat(target) if isinstance(target, int) else os.stat(target)
    return stat.st_dev, stat.st_ino
