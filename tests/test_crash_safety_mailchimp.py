"""kill -9 in the middle of a Mailchimp extraction, then run again: the raw tables equal a clean run's.

Mailchimp reads its four streams in parallel (up to 10 connections) and email activity
page by page per campaign, so a kill lands with some streams done, some half read and
nothing loaded. The pattern is tests/test_crash_safety.py's: the sandbox lives in this
process and its request hook kills the extractor process at an exact request.
"""

from __future__ import annotations

import os
import signal

import pytest

from tests.test_crash_safety import cli
from tests.pipeline_helpers import rows
from tests.test_extractors_sandbox import checksum

pytestmark = pytest.mark.timeout(600)

TABLES = ("raw_mailchimp.campaigns", "raw_mailchimp.reports", "raw_mailchimp.email_activity", "raw_mailchimp.list_members")


def tables() -> dict[str, str]:
    return {t: checksum(t) for t in TABLES}


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory, world):
    """Checksums and request count of one uninterrupted run into its own data dir."""
    from sandbox.server import SandboxServer

    data = tmp_path_factory.mktemp("clean") / "data"
    with SandboxServer(world) as server:
        env = {**os.environ, **server.connections(), "FUNNELHOUSE_DATA_DIR": str(data)}
        assert cli("mailchimp", env).wait(timeout=300) == 0
        requests = server.sandbox.request_count
    saved = os.environ.get("FUNNELHOUSE_DATA_DIR")
    os.environ["FUNNELHOUSE_DATA_DIR"] = str(data)
    try:
        return {"requests": requests, "tables": tables()}
    finally:
        os.environ.pop("FUNNELHOUSE_DATA_DIR") if saved is None else os.environ.update(FUNNELHOUSE_DATA_DIR=saved)


# request 3: the first pages of every stream are in flight; request 40: deep in the email activity pages
@pytest.mark.parametrize("kill_at_request", [3, 40])
def test_kill_mid_mailchimp_extraction_then_rerun_equals_a_clean_run(sandbox, connections, data_dir, kill_at_request, clean_run):
    env = dict(os.environ)
    assert kill_at_request < clean_run["requests"]  # mid-extraction: the clean run made more requests
    seen, proc_box = [], []

    def kill_on_nth_request(request):
        seen.append(request.path)
        if len(seen) == kill_at_request and proc_box:
            os.kill(proc_box[0].pid, signal.SIGKILL)

    sandbox.sandbox.request_hooks.append(kill_on_nth_request)
    proc = cli("mailchimp", env)
    proc_box.append(proc)
    # GIVEN a Mailchimp run killed mid-extraction
    assert proc.wait(timeout=300) == -signal.SIGKILL
    sandbox.sandbox.request_hooks.clear()
    # WHEN it runs again
    assert cli("mailchimp", env).wait(timeout=300) == 0
    # THEN the raw tables equal an uninterrupted run's
    assert tables() == clean_run["tables"]
    assert [rows(f"SELECT count(*) FROM {t}")[0][0] for t in TABLES] == [17, 17, 43286, 7485]
