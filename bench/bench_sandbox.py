"""How many call requests per second the sandbox answers: a script, not a test.

Starts the sandbox in this process and fires N valid calls over keep-alive
``requests.Session`` connections from several threads, then prints the rate.
The clients share the interpreter (and its GIL) with the server, so the figure
is a floor for the sandbox's own capacity.

    python bench/bench_sandbox.py [--calls 2000] [--threads 4]
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import requests

# Run as a script from a source checkout: find callspec beside bench/.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from callspec.sandbox import Sandbox, SandboxConfig

BODY = {
    "from": "+14152224444",
    "to": "+14152223333",
    "answer_url": "https://example.com/answer.xml",
    "time_limit": "300",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    config = SandboxConfig()
    statuses: Counter[int] = Counter()
    lock = threading.Lock()

    with Sandbox(config) as box:
        url = f"{box.url}/v1/Account/{config.auth_id}/Call/"

        def worker(count: int) -> None:
            seen: Counter[int] = Counter()
            with requests.Session() as session:
                session.auth = (config.auth_id, config.auth_token)
                session.post(url, json=BODY, timeout=5)  # warm the connection up
                for _ in range(count):
                    seen[session.post(url, json=BODY, timeout=5).status_code] += 1
            with lock:
                statuses.update(seen)

        shares = [
            args.calls // args.threads + (i < args.calls % args.threads)
            for i in range(args.threads)
        ]
        threads = [threading.Thread(target=worker, args=(n,)) for n in shares]
        began = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - began

    total = sum(statuses.values())
    print(
        f"{total} calls from {args.threads} keep-alive clients in {elapsed:.2f} s: "
        f"{total / elapsed:,.0f} requests/s; statuses {dict(sorted(statuses.items()))}"
    )


if __name__ == "__main__":
    main()
