"""``callspec init``: a starter profiles file and spec that validate as written.

The profiles file reads the credentials from the environment (nothing secret in
git); the spec uses a variable and a declared secret, so a new user sees both
at work.  Nothing is overwritten: an existing file refuses the whole starter.
"""

from __future__ import annotations

import os
from pathlib import Path

from callspec.errors import UsageError
from callspec.spec.profiles import PROFILES_FILENAMES

PROFILES = """\
# Profiles: who calls, from which number, at what rate. Credentials come from the
# environment, so this file holds no secret.
version: 1
profiles:
  default:
    auth_id: "{{ env.PLIVO_AUTH_ID }}"
    auth_token: "{{ env.PLIVO_AUTH_TOKEN }}"
    rate: 2                        # calls per second (Plivo's default CPS)
    max_calls: 20                  # a run that would place more is refused
    secrets:                       # masked in every output
      - env: PAGER_PIN             # read from the environment, needed only to send for real:
        var: pager_pin             # a live run without it is refused, nothing is sent
        example: "0000"            # stands in until then (validate checks it, --sandbox sends it)
    defaults:
      from: "+14152224444"         # your Plivo number
      hangup_url: https://hooks.example.com/hangup
"""

SPEC = """\
# A call spec: `callspec validate` checks it, `callspec run --sandbox` places it locally.
# Editor completion: `callspec schema spec > spec.schema.json`, then put
# `# yaml-language-server: $schema=../spec.schema.json` on the first line.
version: 1
vars:
  service: payments
calls:
  - name: page-on-call
    tags: [oncall]
    to: "+14155550100"             # who is rung
    answer_url: "https://hooks.example.com/answer.xml?service={{ service }}"
    caller_name: "{{ service | upper }} ALERT"
    send_digits: "{{ pager_pin }}"  # a secret: shown as *** everywhere
    time_limit: 300
"""

NEXT = """\
Next:
  callspec validate {specs}
  callspec run {specs} --sandbox
  callspec render {spec} --format curl"""


def write_starter(folder: Path) -> list[Path]:
    """Write the starter into ``folder``; refuse (UsageError, exit 2) if a file exists.

    All or nothing: the ``.gitignore`` line is prepared first, files are created
    exclusively, and what was written is removed again when a later step fails.
    """
    profiles = folder / "profiles.yaml"
    spec = folder / "specs" / "example.yaml"
    taken = [folder / name for name in PROFILES_FILENAMES] + [spec]
    existing = [p for p in taken if p.exists() or p.is_symlink()]
    if existing:
        verb = "exists" if len(existing) == 1 else "exist"
        names = ", ".join(str(p) for p in existing)
        raise UsageError(f"{names} already {verb}; nothing was written")
    ignore = folder / ".gitignore"
    if ignore.is_symlink() and not ignore.exists():  # appending would create its target
        target = os.readlink(ignore)
        raise UsageError(
            f"{ignore} is a symlink to {target}, which does not exist; nothing was written"
        )
    written: list[Path] = []
    try:
        addition = _ignore_addition(ignore)
        spec.parent.mkdir(parents=True, exist_ok=True)
        for path, text in ((profiles, PROFILES), (spec, SPEC)):
            with path.open("x", encoding="utf-8") as f:
                written.append(path)
                f.write(text)
        if addition:
            with ignore.open("ab") as f:
                f.write(addition)
    except OSError as e:
        for path in written:
            path.unlink(missing_ok=True)
        why = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
        raise UsageError(f"cannot write the starter in {folder}: {why}; nothing was left") from e
    return [profiles, spec, ignore]


def _ignore_addition(ignore: Path) -> bytes:
    """What to append to ``.gitignore`` (read before anything is written).  Bytes, as git
    reads it: a line in another encoding (a Latin-1 file name) is the file's own business."""
    if not ignore.exists():
        return b".callspec/\n"
    data = ignore.read_bytes()
    if {b".callspec/", b".callspec"} & set(data.splitlines()):
        return b""
    return (b"" if not data or data.endswith(b"\n") else b"\n") + b".callspec/\n"


def next_steps(folder: Path) -> str:
    """The three commands to try next."""
    specs = folder / "specs"
    return NEXT.format(specs=f"{specs}/", spec=specs / "example.yaml")
