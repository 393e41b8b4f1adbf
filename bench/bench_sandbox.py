"""How many call requests per second the sandbox answers: a script, not a test.

Starts the sandbox in this process and fires N valid calls over keep-alive
connections from several threads (``requests.Session`` by default, or the
lighter ``http.client``), then prints the rate.  The clients share this
interpreter, and its GIL, with the server: with ``requests`` the figure is
mostly the client's own cost, so it is a floor for the sandbox's capacity.

    python bench/bench_sandbox.py [--calls 2000] [--threads 4] [--client http.client]
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import requests

# Run as a script from a source checkout: find callspec beside bench/.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from callspec.sandbox.server import Sandbox, SandboxConfig

BODY = {
    "from": "+14152224444",
    "to": "+14152223333",
    "answer_url": "https://example.com/answer.xml",
    "time_limit": "300",
}
Post = Callable[[], int]


def requests_client(url: str, auth: tuple[str, str]) -> tuple[Post, Callable[[], None]]:
    session = requests.Session()
    session.auth = auth

    def post() -> int:
        return session.post(url, json=BODY, timeout=5).status_code

    return post, session.close


def http_client(url: str, auth: tuple[str, str]) -> tuple[Post, Callable[[], None]]:
    host, _, rest = url.removeprefix("http://").partition("/")
    connection = http.client.HTTPConnection(host, timeout=5)
    token = base64.b64encode(":".join(auth).encode()).decode()
    headers = {"Content-Type": "application/json", "Authorization": f"Basic {token}"}
    data = json.dumps(BODY)

    def post() -> int:
        connection.request("POST", "/" + rest, data, headers)
        response = connection.getresponse()
        response.read()
        return response.status

    return post, connection.close


CLIENTS = {"requests": requests_client, "http.client": http_client}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--client", choices=sorted(CLIENTS), default="requests")
    args = parser.parse_args()
    config = SandboxConfig()
    statuses: Counter[int] = Counter()
    lock = threading.Lock()
    ready = threading.Barrier(args.threads + 1, timeout=30)

    with Sandbox(config) as box:
        url = f"{box.url}/v1/Account/{config.auth_id}/Call/"

        def worker(count: int) -> None:
            post, close = CLIENTS[args.client](url, (config.auth_id, config.auth_token))
            try:
                post()  # open the keep-alive connection before the clock starts
                ready.wait()
                seen = Counter(post() for _ in range(count))
            finally:
                close()
            with lock:
                statuses.update(seen)

        shares = [
            args.calls // args.threads + (i < args.calls % args.threads)
            for i in range(args.threads)
        ]
        threads = [threading.Thread(target=worker, args=(n,)) for n in shares]
        for t in threads:
            t.start()
        ready.wait()
        began = time.perf_counter()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - began

    total = sum(statuses.values())
    print(
        f"{total} calls, {args.threads} keep-alive {args.client} clients, {elapsed:.2f} s: "
        f"{total / elapsed:,.0f} requests/s; statuses {dict(sorted(statuses.items()))}"
    )


if __name__ == "__main__":
    main()
