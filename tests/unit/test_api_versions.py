"""The API version table: defaults are current, expiry is warned about, retired versions explained."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime

import pytest

from extractors.api_versions import PLATFORMS, WARN_BEFORE_EXPIRY, api_version, deprecated_version_message
from extractors.connections import PlatformConnection


def _conn(extra: dict | None = None) -> PlatformConnection:
    return PlatformConnection("meta_ads", "https://graph.facebook.com", None, "token", extra or {})


@pytest.mark.parametrize("platform", sorted(PLATFORMS))
def test_no_default_is_past_its_recorded_expiry(platform):
    """Fails on the day a default expires: update the table (and the sandbox) before then."""
    api = PLATFORMS[platform]
    default = api.version(api.default)
    assert default is not None, f"{platform}: the default {api.default} has no row in the table"
    today = datetime.now(UTC).date()
    assert default.expires is None or default.expires > today, (
        f"{api.name} default {api.default} expired on {default.expires}: move the default to one of {api.supported(today)}"
    )


@pytest.mark.parametrize("platform", sorted(PLATFORMS))
def test_versions_are_listed_oldest_first_with_release_before_expiry(platform):
    versions = PLATFORMS[platform].versions
    released = [v.released for v in versions if v.released is not None]
    assert released == sorted(released)
    assert all(v.expires is None or v.released is None or v.released < v.expires for v in versions)
    assert PLATFORMS[platform].version(PLATFORMS[platform].default).released is not None, "the default's release date is recorded"
    assert all(v.evidence for v in versions)


def test_the_extra_overrides_the_default():
    assert api_version("graph", _conn({"api_version": "v22.0"}), today=date(2026, 1, 1)) == "v22.0"
    assert api_version("graph", _conn(), today=date(2026, 1, 1)) == PLATFORMS["graph"].default


def test_a_version_near_its_expiry_is_warned_about(caplog):
    expiring = PLATFORMS["graph"].version("v21.0")

    with caplog.at_level(logging.WARNING, logger="extractors.api_versions"):
        api_version("graph", _conn({"api_version": "v21.0"}), today=expiring.expires - WARN_BEFORE_EXPIRY)
    assert len(caplog.records) == 1
    line = caplog.records[0].getMessage()
    assert "Graph API v21.0 expires on 2027-01-21" in line and "'api_version'" in line and "'meta_ads'" in line
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="extractors.api_versions"):
        api_version("graph", _conn({"api_version": "v21.0"}), today=date(2026, 11, 1))
    assert caplog.records == []


def test_a_retired_version_becomes_one_line_naming_the_connection_and_a_supported_version():
    message = deprecated_version_message("meta_marketing", "meta_ads", "v21.0", today=date(2026, 12, 3))
    assert "\n" not in message
    assert "v21.0" in message and "'meta_ads'" in message and "'api_version'" in message
    assert f'"{PLATFORMS["meta_marketing"].default}"' in message
