"""``callspec serve``: run the answer service until SIGTERM or Ctrl-C."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from callspec.cli.app import cli
from callspec.cli.common import FiniteFloat, handled
from callspec.errors import GuardError, UsageError


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8556,
    show_default=True,
    help="Port (0: any free port).",
)
@click.option(
    "--store",
    type=click.Path(path_type=Path, dir_okay=False),
    default=Path("acks.db"),
    show_default=True,
    help="The SQLite file that keeps registrations and acknowledgements.",
)
@click.option(
    "--public-url",
    metavar="URL",
    help="The service's public base URL, as Plivo requests it (behind a TLS proxy: "
    "https://acks.example.com). Plivo's signatures are checked against it.",
)
@click.option(
    "--trusted-proxy",
    metavar="ADDR",
    help="Believe X-Forwarded-Proto/-Host/-Port from this peer address only ('*': any peer).",
)
@click.option(
    "--retention",
    type=FiniteFloat(1, 90 * 24),
    default=168.0,
    show_default=True,
    metavar="HOURS",
    help="Hours a registration and its acknowledgements are kept (messages: 24 h at most).",
)
@click.option(
    "--threads",
    type=click.IntRange(1, 64),
    default=8,
    show_default=True,
    help="Requests handled at once.",
)
@handled
def serve(
    host: str,
    port: int,
    store: Path,
    public_url: str | None,
    trusted_proxy: str | None,
    retention: float,
    threads: int,
) -> None:
    """Serve the answer Plivo fetches for `message` calls, and record the key pressed.

    Plivo's requests are checked with the account's auth token (PLIVO_AUTH_TOKEN);
    the runner registers each call's message and reads the acknowledgement back
    over a channel signed with the same token. One JSON log line per request on
    stderr. SIGTERM or Ctrl-C stops it gracefully. See docs/serve.md.

    \b
    Examples:
      PLIVO_AUTH_TOKEN=... callspec serve --port 8556 --store /var/lib/callspec/acks.db
      callspec serve --public-url https://acks.example.com --trusted-proxy 127.0.0.1
    """
    from callspec.serve.server import HostError, ServeConfig, run  # only for the service
    from callspec.serve.store import StoreError

    token = os.environ.get("PLIVO_AUTH_TOKEN", "")
    if not token:
        raise GuardError(
            "callspec serve needs the account's auth token in PLIVO_AUTH_TOKEN "
            "(it checks Plivo's signatures and the runner's)"
        )
    try:
        config = ServeConfig(
            store=store,
            auth_token=token,
            host=host,
            port=port,
            public_url=public_url,
            trusted_proxy=trusted_proxy,
            threads=threads,
            retention_s=retention * 3600,
            log=sys.stderr,
        )
    except ValueError as e:
        raise UsageError(str(e)) from e
    try:
        run(config, lambda line: click.echo(line))
    except StoreError:
        raise
    except HostError as e:
        raise UsageError(f"--host: {e}") from e
    except OSError as e:
        raise UsageError(f"cannot listen on {host}:{port}: {e.strerror or e}") from e
