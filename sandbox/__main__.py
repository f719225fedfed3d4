"""``python -m sandbox serve --port 0 --seed 7 --scale 1``: run the sandbox APIs on loopback.

The first line on stdout is the base URL (``http://127.0.0.1:<port>``); logs go to stderr.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
from datetime import UTC, date, datetime

from sandbox.faults import FaultPlan
from sandbox.server import SandboxServer
from sandbox.world import World


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, got {text!r}") from None


def _instant(text: str) -> datetime:
    """An ISO 8601 date or time; without an offset it is UTC (the world's instants are all aware)."""
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an ISO 8601 time such as 2026-09-01T00:00:00Z, got {text!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sandbox", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser(
        "serve",
        help="serve every platform API for one simulated business",
        description="Serve every platform API for one simulated business; prints the base URL.",
    )
    serve.add_argument("--host", default="127.0.0.1", help="loopback address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=0, help="0 picks a free port")
    serve.add_argument("--seed", type=int, default=7)
    serve.add_argument("--scale", type=float, default=1.0, help="1 = the demo business; 100 = benchmark size")
    serve.add_argument("--start", type=_day, default=date(2026, 6, 1), help="first simulated day (default 2026-06-01)")
    span = serve.add_mutually_exclusive_group()
    span.add_argument("--days", type=int, help="number of simulated days (default 90)")
    span.add_argument("--end", type=_day, help="last simulated day, inclusive (instead of --days)")
    serve.add_argument(
        "--now",
        type=_instant,
        default=None,
        help="server clock, UTC unless an offset is given (default: midnight after the last day)",
    )
    serve.add_argument(
        "--no-hubspot-enterprise",
        dest="hubspot_enterprise",
        action="store_false",
        help="a HubSpot portal without Marketing Hub Enterprise: GET /events/v3/events answers 403 "
        "MISSING_SCOPES (the CRM objects still answer)",
    )
    serve.add_argument(
        "--platform-limits",
        action="store_true",
        help="enforce the platforms' own rate limits, as the real APIs do: HubSpot CRM search at most "
        "4 requests per second per token (429 SECONDLY), Mailchimp at most 10 requests in flight "
        "per API key (429 problem+json). Default off: the demo and the tests run at full speed",
    )
    serve.add_argument(
        "--faults",
        metavar="FILE_OR_JSON",
        help='inject failures: a fault plan as a JSON file or inline JSON ({"rules": [...]}, see sandbox/faults.py)',
    )
    serve.add_argument(
        "--connections-file", help="also write the AIRFLOW_CONN_* variables for this server to this file (KEY=VALUE lines)"
    )
    args = parser.parse_args(argv)
    if not (math.isfinite(args.scale) and args.scale > 0):
        serve.error(f"--scale must be a positive number, got {args.scale}")
    if args.end is not None:
        if args.end < args.start:
            serve.error(f"--end {args.end} is before --start {args.start}")
        args.days = (args.end - args.start).days + 1
    elif args.days is None:
        args.days = 90
    if args.days <= 0:
        serve.error(f"--days must be positive, got {args.days}")
    if not 0 <= args.port <= 65535:
        serve.error(f"--port must be 0..65535, got {args.port}")
    faults = None
    if args.faults:
        try:
            faults = FaultPlan.load(args.faults)
        except (OSError, ValueError, TypeError) as exc:
            serve.error(f"--faults: {exc}")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s sandbox %(levelname)s %(message)s")
    try:
        server = SandboxServer(
            World(args.seed, args.scale, args.start, args.days),
            args.port,
            args.now,
            args.host,
            faults,
            platform_limits=args.platform_limits,
        )
    except OSError as exc:  # port taken, address not on this machine
        serve.error(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}")
    server.sandbox.hubspot_enterprise = args.hubspot_enterprise
    if args.connections_file:
        with open(args.connections_file, "w") as fh:
            for key, value in server.connections().items():
                fh.write(f"{key}='{value}'\n")
    # The base URL is the one line a caller waits for; flush so a pipe sees it at once.
    print(server.base_url, flush=True)
    logging.info(
        "serving world seed=%s scale=%s %s..%s clock=%s%s%s",
        args.seed,
        args.scale,
        args.start,
        server.world.end,
        server.sandbox.now.isoformat(),
        "" if args.hubspot_enterprise else " (HubSpot without Marketing Hub Enterprise)",
        " with the platforms' own rate limits" if args.platform_limits else "",
    )
    if faults is not None:
        logging.info("injecting faults: %s", json.dumps([r.to_dict() for r in faults.rules]))
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
