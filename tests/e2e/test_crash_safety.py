"""kill -9 at any point of a run, then run again: every raw table of the source equals a clean run's.

The sandbox lives in this process, so its request hook can kill the extractor process at
an exact request (mid-extraction: some streams done, some half read, nothing loaded);
the load kills wait until the extractor holds the warehouse lock after its last request,
which lands them inside the load transaction.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from extractors.sources import get_source
from tests.extractors.test_extractors_sandbox import PROJECT, table

pytestmark = pytest.mark.timeout(600)

SOURCES = ("hubspot", "meta_ads", "google_ads", "ga4", "mailchimp", "facebook_pages")


def cli(source: str, env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "extractors", source, "--end", "2026-08-29"],
        env=env,
        cwd=PROJECT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def tables(source: str) -> dict[str, tuple[int, str]]:
    """Row count and checksum of every stream's raw table."""
    return {
        s.name: (len(rows := table(f"raw_{source}.{s.name}")), hashlib.sha256(repr(rows).encode()).hexdigest())
        for s in get_source(source).streams
    }


@pytest.fixture
def env(connections, data_dir):
    return dict(os.environ)


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory, world):
    """Tables and request count of one uninterrupted run per source, each into the same clean data dir."""
    from sandbox.server import SandboxServer

    data = tmp_path_factory.mktemp("clean") / "data"
    out = {}
    with SandboxServer(world) as server:
        env = {**os.environ, **server.connections(), "FUNNELHOUSE_DATA_DIR": str(data)}
        for source in SOURCES:
            before = server.sandbox.request_count
            assert cli(source, env).wait(timeout=300) == 0
            out[f"{source} requests"] = server.sandbox.request_count - before
    saved = os.environ.get("FUNNELHOUSE_DATA_DIR")
    os.environ["FUNNELHOUSE_DATA_DIR"] = str(data)
    try:
        for source in SOURCES:
            out[source] = tables(source)
    finally:
        os.environ.pop("FUNNELHOUSE_DATA_DIR") if saved is None else os.environ.update(FUNNELHOUSE_DATA_DIR=saved)
    # the clean run itself is the world's (each source's full read is compared record by record elsewhere)
    assert {name: rows for name, (rows, _) in out["mailchimp"].items()} == {
        "campaigns": 17,
        "reports": 17,
        "email_activity": 43286,
        "list_members": 7485,
    }
    assert out["hubspot"]["contacts"][0] == 5032 and out["hubspot"]["deals"][0] == 670
    return out


# Kill points: mailchimp 3 (the first page of every stream in flight) and 40 (deep in the email activity
# pages); facebook_pages 3 and 120 (of several hundred: posts, media, comments, insights).
@pytest.mark.parametrize(
    "source, kill_at_request",
    [
        ("hubspot", 25),
        ("meta_ads", 3),
        ("google_ads", 3),
        ("ga4", 2),
        ("mailchimp", 3),
        ("mailchimp", 40),
        ("facebook_pages", 3),
        ("facebook_pages", 120),
    ],
)
def test_kill_mid_extraction_then_rerun_equals_a_clean_run(sandbox, env, source, kill_at_request, clean_run):
    # mid-extraction: the hook kills on receiving that request, before answering it, and a clean run makes at least as many
    assert kill_at_request <= clean_run[f"{source} requests"]
    seen, proc_box = [], []

    def kill_on_nth_request(request):
        seen.append(request.path)
        if len(seen) == kill_at_request and proc_box:
            os.kill(proc_box[0].pid, signal.SIGKILL)

    sandbox.sandbox.request_hooks.append(kill_on_nth_request)
    proc = cli(source, env)
    proc_box.append(proc)
    assert proc.wait(timeout=300) == -signal.SIGKILL
    sandbox.sandbox.request_hooks.clear()
    assert cli(source, env).wait(timeout=300) == 0
    assert tables(source) == clean_run[source]


@pytest.mark.parametrize("source, delay_s", [("hubspot", 0.0), ("hubspot", 0.2), ("facebook_pages", 0.0)])
def test_kill_inside_the_load_then_rerun_equals_a_clean_run(sandbox, env, source, delay_s, clean_run):
    """Killed while the loader holds the warehouse (its transaction is open), then run again."""
    from extractors import settings

    last_request = threading.Event()
    requests_seen = []

    def note(request):
        requests_seen.append(request.path)
        if len(requests_seen) == clean_run[f"{source} requests"]:
            last_request.set()

    sandbox.sandbox.request_hooks.append(note)
    proc = cli(source, env)
    assert last_request.wait(timeout=300)
    assert _wait_until_locked(f"{settings.warehouse_path()}.lock", proc), "the load never took the warehouse lock"
    time.sleep(delay_s)
    proc.send_signal(signal.SIGKILL)
    assert proc.wait(timeout=60) == -signal.SIGKILL, "the run finished before the kill: move the kill point earlier"
    sandbox.sandbox.request_hooks.clear()
    assert _landing_state(source) == "manifest written, not loaded"
    assert cli(source, env).wait(timeout=300) == 0
    assert tables(source) == clean_run[source]


def _wait_until_locked(lock_path: str, proc: subprocess.Popen) -> bool:
    import fcntl

    while proc.poll() is None:
        try:
            with open(lock_path, "a") as fh:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                fcntl.flock(fh, fcntl.LOCK_UN)
        except (BlockingIOError, FileNotFoundError):
            return True  # the extractor process holds the lock: it is inside the load
        time.sleep(0.002)
    return False


def _landing_state(source: str) -> str:
    from extractors import settings
    from extractors.landing import MANIFEST

    batches = [b for b in (settings.landing_dir() / source).glob("*") if b.is_dir()]
    if not batches:
        return "loaded (landing cleaned)" if settings.warehouse_path().exists() else "nothing landed"
    return ", ".join("manifest written, not loaded" if (b / MANIFEST).exists() else "extraction interrupted" for b in batches)
