"""``python -m sandbox serve --port 0 --seed 7 --scale 1``: run the sandbox APIs on loopback."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from datetime import date, datetime

from sandbox.faults import FaultPlan
from sandbox.server import SandboxServer
from sandbox.world import World


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve every platform API for one simulated business")
    serve.add_argument("--host", default="127.0.0.1", help="loopback address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=0, help="0 picks a free port")
    serve.add_argument("--seed", type=int, default=7)
    serve.add_argument("--scale", type=float, default=1.0, help="1 = the demo business; 100 = benchmark size")
    serve.add_argument("--start", type=date.fromisoformat, default=date(2026, 6, 1), help="first simulated day")
    serve.add_argument("--days", type=int, default=90, help="number of simulated days")
    serve.add_argument("--now", type=datetime.fromisoformat, default=None, help="server clock (default: midnight after the last day)")
    serve.add_argument("--faults", metavar="FILE_OR_JSON",
                       help='inject failures: a fault plan as a JSON file or inline JSON ({"rules": [...]}, see sandbox/faults.py)')
    serve.add_argument("--connections-file", help="also write the AIRFLOW_CONN_* variables for this server to this file (KEY=VALUE lines)")
    args = parser.parse_args(argv)
    if args.scale <= 0 or args.days <= 0:
        parser.error("--scale and --days must be positive")
    faults = None
    if args.faults:
        try:
            faults = FaultPlan.load(args.faults)
        except (OSError, ValueError, TypeError) as exc:
            parser.error(f"--faults: {exc}")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s sandbox %(levelname)s %(message)s")
    server = SandboxServer(World(args.seed, args.scale, args.start, args.days), args.port, args.now, args.host, faults)
    if args.connections_file:
        with open(args.connections_file, "w") as fh:
            for key, value in server.connections().items():
                fh.write(f"{key}='{value}'\n")
    # The base URL is the one line a caller waits for; flush so a pipe sees it at once.
    print(server.base_url, flush=True)
    logging.info("serving world seed=%s scale=%s %s..%s clock=%s", args.seed, args.scale, args.start,
                 server.world.end, server.sandbox.now.isoformat())
    if faults is not None:
        logging.info("injecting faults: %s", json.dumps([r.to_dict() for r in faults.rules]))
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
