"""kill -9 while facebook_pages runs (issue #4), then run again: its seven raw tables equal a
clean run's. The pattern of tests/test_crash_safety.py: the sandbox lives in this process,
so its request hook kills the extractor at an exact request (mid-extraction); the load
kill waits until the extractor holds the warehouse lock after its last request.
"""

from __future__ import annotations

import os
import signal
import threading

import pytest

from extractors.sources import get_source
from tests.test_crash_safety import _wait_until_locked, cli
from tests.test_extractors_sandbox import checksum

pytestmark = pytest.mark.timeout(600)

SOURCE = "facebook_pages"


def tables() -> dict[str, str]:
    return {s.name: checksum(f"raw_{SOURCE}.{s.name}") for s in get_source(SOURCE).streams}


@pytest.fixture
def env(connections, data_dir):
    return dict(os.environ)


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory, world):
    from sandbox.server import SandboxServer

    data = tmp_path_factory.mktemp("clean") / "data"
    with SandboxServer(world) as server:
        env = {**os.environ, **server.connections(), "FUNNELHOUSE_DATA_DIR": str(data)}
        assert cli(SOURCE, env).wait(timeout=300) == 0
        requests = server.sandbox.request_count
    saved = os.environ.get("FUNNELHOUSE_DATA_DIR")
    os.environ["FUNNELHOUSE_DATA_DIR"] = str(data)
    try:
        return {"requests": requests, "tables": tables()}
    finally:
        os.environ.pop("FUNNELHOUSE_DATA_DIR") if saved is None else os.environ.update(FUNNELHOUSE_DATA_DIR=saved)


@pytest.mark.parametrize("kill_at_request", [3, 120])
def test_kill_mid_extraction_then_rerun_equals_a_clean_run(sandbox, env, kill_at_request, clean_run):
    # GIVEN a run killed at its n-th request (of several hundred: posts, media, comments, insights)
    assert clean_run["requests"] > 120
    seen, proc_box = [], []

    def kill_on_nth_request(request):
        seen.append(request.path)
        if len(seen) == kill_at_request and proc_box:
            os.kill(proc_box[0].pid, signal.SIGKILL)

    sandbox.sandbox.request_hooks.append(kill_on_nth_request)
    proc = cli(SOURCE, env)
    proc_box.append(proc)
    assert proc.wait(timeout=300) == -signal.SIGKILL
    sandbox.sandbox.request_hooks.clear()
    # WHEN it runs again THEN every table equals a clean run's
    assert cli(SOURCE, env).wait(timeout=300) == 0
    assert tables() == clean_run["tables"]


def test_kill_inside_the_load_then_rerun_equals_a_clean_run(sandbox, env, clean_run):
    from extractors import settings

    last_request = threading.Event()
    seen = []

    def note(request):
        seen.append(request.path)
        if len(seen) == clean_run["requests"]:
            last_request.set()

    sandbox.sandbox.request_hooks.append(note)
    proc = cli(SOURCE, env)
    assert last_request.wait(timeout=300)
    assert _wait_until_locked(f"{settings.warehouse_path()}.lock", proc), "the load never took the warehouse lock"
    proc.send_signal(signal.SIGKILL)
    assert proc.wait(timeout=60) == -signal.SIGKILL, "the run finished before the kill: move the kill point earlier"
    sandbox.sandbox.request_hooks.clear()
    batches = [b for b in (settings.landing_dir() / SOURCE).glob("*") if b.is_dir()]
    assert len(batches) == 1  # landed and committed to disk, not loaded
    assert cli(SOURCE, env).wait(timeout=300) == 0
    assert tables() == clean_run["tables"]
