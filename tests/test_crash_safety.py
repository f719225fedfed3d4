"""kill -9 at any point of a run, then run again: the tables equal a clean run's.

The sandbox lives in this process, so its request hook can kill the extractor
process at an exact request (mid-extraction); later kill points are timed after
the last request, which lands them in the load transaction or just after it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from tests.test_extractors_sandbox import PROJECT, checksum

pytestmark = pytest.mark.timeout(600)

SOURCES = {"hubspot": ("raw_hubspot.contacts", "raw_hubspot.deals", "raw_hubspot.contact_visits"), "meta_ads": ("raw_meta_ads.insights", "raw_meta_ads.ad_accounts"),
           "google_ads": ("raw_google_ads.ad_group_performance", "raw_google_ads.campaigns"),
           "ga4": ("raw_ga4.sessions_daily", "raw_ga4.pages_daily")}


def cli(source: str, env: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "extractors", source, "--end", "2026-08-29"], env=env, cwd=PROJECT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def tables(source):
    return {t: checksum(t) for t in SOURCES[source]}


@pytest.fixture
def env(connections, data_dir):
    return dict(os.environ)


@pytest.fixture(scope="module")
def clean_checksums(tmp_path_factory, world):
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
    return out


@pytest.mark.parametrize("source, kill_at_request", [("hubspot", 25), ("meta_ads", 3), ("google_ads", 3), ("ga4", 2)])
def test_kill_mid_extraction_then_rerun_equals_a_clean_run(sandbox, env, source, kill_at_request, clean_checksums):
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
    assert tables(source) == clean_checksums[source]


@pytest.mark.parametrize("delay_s", [0.0, 0.2])
def test_kill_inside_the_load_then_rerun_equals_a_clean_run(sandbox, env, delay_s, clean_checksums):
    """Killed while the loader holds the warehouse (its transaction is open), then run again."""
    from extractors import settings

    last_request = threading.Event()
    requests_seen = []

    def note(request):
        requests_seen.append(request.path)
        if len(requests_seen) == clean_checksums["hubspot requests"]:
            last_request.set()

    sandbox.sandbox.request_hooks.append(note)
    proc = cli("hubspot", env)
    assert last_request.wait(timeout=120)
    assert _wait_until_locked(f"{settings.warehouse_path()}.lock", proc), "the load never took the warehouse lock"
    time.sleep(delay_s)
    proc.send_signal(signal.SIGKILL)
    assert proc.wait(timeout=60) == -signal.SIGKILL, "the run finished before the kill: move the kill point earlier"
    sandbox.sandbox.request_hooks.clear()
    assert _landing_state() == "manifest written, not loaded"
    assert cli("hubspot", env).wait(timeout=300) == 0
    assert tables("hubspot") == clean_checksums["hubspot"]


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


def _landing_state() -> str:
    from extractors import settings
    from extractors.landing import MANIFEST

    batches = [b for b in (settings.landing_dir() / "hubspot").glob("*") if b.is_dir()]
    if not batches:
        return "loaded (landing cleaned)" if settings.warehouse_path().exists() else "nothing landed"
    return ", ".join("manifest written, not loaded" if (b / MANIFEST).exists() else "extraction interrupted" for b in batches)
