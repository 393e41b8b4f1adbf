"""Masking: how long the redactor takes over 100,000 typical report strings.

A run masks every string it writes (report, journal, JUnit, terminal) with one
:class:`~callspec.redact.Redactor` holding the auth token (and its basic-auth
spelling) and the profile's declared secrets; this is that work alone, in one
process: call names, numbers, URLs with and without percent-encoding, UUIDs,
API messages, and a few strings holding a secret (plain, upper-cased, URL-encoded)
or a PIN inside a UUID.  Prints the best and the median of ``--repeat`` rounds.

``--root DIR`` masks with the callspec of another checkout (``git worktree add DIR
main``), for before/after figures:

    python bench/bench_redact.py [--strings 100000] [--repeat 5] [--root DIR]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

TOKEN = "MzY4ZjE2NTc4NWU0YzdjZTgxYjQ5NTZjZjYwYjgy"
AUTH_ID = "MABENCHAUTHID0000000"
SECRETS = ["4321", "hook-s3cret-Value", "pagerPin42"]


def strings(n: int) -> list[str]:
    """``n`` strings as a report holds them, one in about 200 holding a secret."""
    out = []
    for i in range(n):
        uuid = f"{i:08x}-5e2b-4b8a-9f11-6a7b43210e55"
        kind = i % 10
        if kind == 0:
            out.append(f"call-{i}")
        elif kind == 1:
            out.append(f"+1{4155550000 + i}")
        elif kind == 2:
            out.append(f"https://hooks.example.com/a.xml?call={i}&team=ops")
        elif kind == 3:
            out.append(uuid)
        elif kind == 4:
            out.append("call fired")
        elif kind == 5:
            out.append(f"https://hooks.example.com/a?q=on%20call%2Fteam&n={i}")
        elif kind == 6:
            out.append(f"{i % 60}.{i % 1000:03d}")
        elif kind == 7:
            out.append(f"HTTP 400: destination number +1{4155550000 + i} is not valid")
        elif kind == 8:
            out.append("2026-12-07T17:32:25.123456+00:00")
        elif i % 200 == 9:
            out.append(f"https://hooks.example.com/a?pin={SECRETS[i % 3]}&u={uuid}")
        elif i % 200 == 19:
            out.append(f"https://hooks.example.com/a?k=HOOK-S3CRET-VALUE%20{i}")
        else:
            out.append(f"ringing {uuid}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strings", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--root", type=Path, default=ROOT)
    args = parser.parse_args()
    sys.path.insert(0, str(args.root.resolve()))
    from callspec.redact import Redactor, basic_auth

    texts = strings(args.strings)
    times = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        mask = Redactor([TOKEN, basic_auth(AUTH_ID, TOKEN), *SECRETS])
        masked = [mask.text(t) for t in texts]
        times.append(time.perf_counter() - start)
    leaked = sum(s in m for m in masked for s in SECRETS[1:])
    print(
        f"masked {len(texts):,} strings with {args.root}: best {min(times) * 1000:.0f} ms, "
        f"median {statistics.median(times) * 1000:.0f} ms of {args.repeat} "
        f"({sum(m != t for m, t in zip(masked, texts, strict=True))} changed, {leaked} leaked)"
    )


if __name__ == "__main__":
    main()
