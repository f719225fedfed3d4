"""A minimal HubSpot-shaped contacts endpoint for the benchmarks, separate from the sandbox.

``GET /crm/v3/objects/contacts`` answers cursor pages of 100 records (``paging.next.after``)
as HubSpot's CRM v3 list does; ``archived=true`` answers an empty page. Every page is made
from a few bodies encoded once at start-up: serving a page is one bytes substitution (its
record ids and its next cursor), so the server is not what limits an extraction figure
(its own requests/s ceiling is measured beside the others). It runs in its own process
(``python -m benchmarks.server``), so its threads never share the measured process's GIL.

``GET /_stats`` answers ``{"requests": n, "first_request_at": epoch_s}`` for the contact
requests since ``GET /_reset``.

Record shape: the sandbox's contact (sandbox/world_crm.py ``contact_record``), the list answer's
``results``/``paging.next.{after,link}`` as in HubSpot's CRM v3 OpenAPI file (tests/specs/hubspot).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

PAGE_SIZE = 100
TEMPLATES = 16  # distinct page bodies; page n is made from template n % TEMPLATES
ID = b"@@PAGE@@"  # stands for the page number in every id of a template (id = page * 100 + slot)
NEXT = b"@@NEXT@@"
STAGES = ("subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead", "opportunity", "customer")
SOURCES = (
    ("PAID_SEARCH", "google", "cpc"),
    ("PAID_SOCIAL", "facebook", "paid_social"),
    ("ORGANIC_SEARCH", None, None),
    ("EMAIL_MARKETING", "newsletter", "email"),
    ("DIRECT_TRAFFIC", None, None),
    ("REFERRALS", "partner", "referral"),
)


def contact(template: int, slot: int) -> dict:
    """Record ``slot`` of a template page; its id is filled in per page."""
    contact_id = f"{ID.decode()}{slot:02d}"
    n = template * PAGE_SIZE + slot
    day, second = 1 + n % 28, n % 86400
    created = f"2026-{1 + n % 12:02d}-{day:02d}T{second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}.{n % 1000:03d}Z"
    modified = f"2026-11-{day:02d}T{second // 3600:02d}:{second % 60:02d}:{second // 60 % 60:02d}.{(n * 7) % 1000:03d}Z"
    stage = STAGES[n % len(STAGES)]
    source, utm_source, utm_medium = SOURCES[n % len(SOURCES)]
    props = {
        "createdate": created,
        "email": f"contact{contact_id}@example.com",
        "firstname": ("Ada", "Ивана", "José", "Li")[n % 4],
        "lastname": f"Benchmark {n % 97}",
        "hs_object_id": contact_id,
        "lastmodifieddate": modified,
        "lifecyclestage": stage,
        "hs_analytics_source": source,
        "hs_analytics_source_data_1": utm_source and f"{utm_source}.com",
        "hs_analytics_source_data_2": utm_source and f"campaign-{n % 13}",
        "utm_source": utm_source,
        "utm_medium": utm_medium,
        "utm_campaign": utm_source and f"spring_{n % 13}",
        "utm_content": None,
        "utm_term": utm_source and f"term {n % 5}",
        "hs_google_click_id": f"Cj0KCQ{n:010d}" if source == "PAID_SEARCH" else None,
    }
    for i, s in enumerate(STAGES):
        props[f"hs_lifecyclestage_{s}_date"] = created if i <= STAGES.index(stage) else None
    return {"id": contact_id, "properties": props, "createdAt": created, "updatedAt": modified, "archived": False}


def encode_templates(base_url: str) -> tuple[list[bytes], list[bytes]]:
    """Each template as (a middle page, the last page): the last has no ``paging``."""
    middles, lasts = [], []
    for t in range(TEMPLATES):
        results = [contact(t, slot) for slot in range(PAGE_SIZE)]
        paging = {"next": {"after": NEXT.decode(), "link": f"{base_url}/crm/v3/objects/contacts?after={NEXT.decode()}"}}
        middles.append(json.dumps({"results": results, "paging": paging}, separators=(",", ":"), ensure_ascii=False).encode())
        lasts.append(json.dumps({"results": results}, separators=(",", ":"), ensure_ascii=False).encode())
    return middles, lasts


def page_count(records: int) -> int:
    return max(1, -(-records // PAGE_SIZE))


def serve(records: int, host: str = "127.0.0.1", port: int = 0) -> ThreadingHTTPServer:
    """A server answering ``records`` contacts (a multiple of the page size: whole pages)."""
    pages = page_count(records)
    stats = {"requests": 0, "first_request_at": None}
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive: a client's connection serves every page

        def do_GET(self):  # noqa: N802 - http.server's name
            path, _, query = self.path.partition("?")
            if path == "/_stats":
                return self._send(200, json.dumps(stats).encode())
            if path == "/_reset":
                with lock:
                    stats.update(requests=0, first_request_at=None)
                return self._send(200, b"{}")
            if path != "/crm/v3/objects/contacts":
                return self._send(404, b'{"status":"error","message":"not found"}')
            with lock:
                stats["requests"] += 1
                stats["first_request_at"] = stats["first_request_at"] or time.time()
            params = dict(parse_qsl(query))
            if params.get("archived") == "true":
                return self._send(200, b'{"results":[]}')
            page = int(params.get("after") or 1)
            if not 1 <= page <= pages:
                return self._send(400, b'{"status":"error","message":"invalid after"}')
            t = page % TEMPLATES
            body = (lasts[t] if page == pages else middles[t].replace(NEXT, str(page + 1).encode())).replace(
                ID, str(page).encode()
            )
            self._send(200, body)

        def _send(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json;charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):  # quiet: a line per request would cost more than the request
            pass

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    middles, lasts = encode_templates(f"http://{host}:{server.server_address[1]}")
    return server


@contextmanager
def running(records: int):
    """The server in a child process for ``records`` contacts; yields its base URL."""
    child = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.server", "--records", str(records)],
        stdout=subprocess.PIPE,
        stdin=subprocess.PIPE,
        text=True,
    )
    try:
        line = child.stdout.readline().strip()
        if not line.startswith("http://"):
            raise RuntimeError(f"the benchmark server did not start (said {line!r}, exit {child.poll()})")
        yield line
    finally:
        child.stdin.close()  # its signal to stop
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.server", description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    server = serve(args.records, port=args.port)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f"http://127.0.0.1:{server.server_address[1]}", flush=True)
    sys.stdin.read()  # until the parent closes our stdin (or exits)
    server.shutdown()


if __name__ == "__main__":
    main()
