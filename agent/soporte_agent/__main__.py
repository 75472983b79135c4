"""`soporte-agent`: collect this machine's inventory and post it to Soporte.

    soporte-agent --server https://soporte.example.org --token enr_...
    SOPORTE_AGENT_TOKEN=enr_... soporte-agent --server ...   (keeps the token out of `ps`)
    soporte-agent --dry-run                                   (print the JSON, send nothing)

Exit status: 0 sent (or printed), 1 the server refused or could not be reached, 2 usage.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from . import __version__
from .collect import collect

PATH = "/api/v1/assets/inventory"


class Refused(Exception):
    """The server answered with an error (4xx): sending again would not help."""


def post(server: str, token: str, report: dict[str, Any], timeout: float = 30.0) -> dict:
    """POST the report; retried on connection errors and 5xx answers (3 tries)."""
    url = server.rstrip("/") + PATH
    body = json.dumps(report).encode("utf-8")
    request = urllib.request.Request(  # noqa: S310 - the scheme is checked in main()
        url, data=body, method="POST",
        headers={
            "Content-Type": "application/json",
            "Authorization": f"Bearer {token}",
            "User-Agent": f"soporte-agent/{__version__}",
        },
    )  # fmt: skip
    delay = 2.0
    for attempt in range(3):
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
                return json.loads(response.read().decode("utf-8") or "{}")
        except urllib.error.HTTPError as error:
            detail = _detail(error)
            if error.code < 500 or attempt == 2:
                raise Refused(f"{error.code}: {detail}") from None
        except (urllib.error.URLError, TimeoutError, ConnectionError):
            if attempt == 2:
                raise
        time.sleep(delay)
        delay *= 2
    raise AssertionError("unreachable")


def _detail(error: urllib.error.HTTPError) -> str:
    try:
        return str(json.loads(error.read().decode("utf-8")).get("detail", error.reason))
    except (ValueError, AttributeError, OSError):
        return str(error.reason)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="soporte-agent", description="Report this machine's inventory to Soporte."
    )
    parser.add_argument("--server", default=os.environ.get("SOPORTE_AGENT_SERVER", ""),
                        help="Soporte's address, e.g. https://soporte.example.org")  # fmt: skip
    parser.add_argument("--token", default=os.environ.get("SOPORTE_AGENT_TOKEN", ""),
                        help="the enrollment token (or SOPORTE_AGENT_TOKEN)")  # fmt: skip
    parser.add_argument("--token-file", help="read the token from this file")
    parser.add_argument("--no-software", action="store_true", help="leave the packages out")
    parser.add_argument("--dry-run", action="store_true", help="print the report, send nothing")
    parser.add_argument("--timeout", type=float, default=30.0)
    parser.add_argument("--version", action="version", version=f"soporte-agent {__version__}")
    args = parser.parse_args(argv)

    token = args.token
    if args.token_file:
        try:
            with open(args.token_file, encoding="utf-8") as fh:
                token = fh.read().strip()
        except OSError as error:
            print(f"soporte-agent: cannot read the token file: {error}", file=sys.stderr)
            return 2
    report = collect(software=not args.no_software)
    if args.dry_run:
        json.dump(report, sys.stdout, indent=2, sort_keys=True)
        print()
        return 0
    if not args.server or not token:
        parser.print_usage(sys.stderr)
        print("soporte-agent: --server and --token are needed (or --dry-run)", file=sys.stderr)
        return 2
    parts = urlsplit(args.server)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        print("soporte-agent: --server must be an http(s):// address", file=sys.stderr)
        return 2
    if parts.scheme == "http" and parts.hostname not in ("localhost", "127.0.0.1", "::1"):
        print("soporte-agent: warning: sending the token over plain http", file=sys.stderr)
    try:
        answer = post(args.server, token, report, timeout=args.timeout)
    except Refused as error:
        print(f"soporte-agent: the server refused the report: {error}", file=sys.stderr)
        return 1
    except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as error:
        print(f"soporte-agent: could not reach {args.server}: {error}", file=sys.stderr)
        return 1
    software = report["software"]
    counted = f", {len(software)} packages" if software is not None else ""
    state = "recorded as" if answer.get("created") else "updated"
    print(f"{report['hostname']}{counted}: {state} {answer.get('tag', '?')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
