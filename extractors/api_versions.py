"""Which API version each platform is called with, and the dates the platform publishes for it.

Platforms retire versions on announced dates and a request to a retired one fails (Meta: HTTP 400,
error code 2635; Google Ads: "Version vNN is deprecated. Requests to this version will be blocked.").
This table is the one place a default lives. A connection's ``api_version`` extra overrides it.
A run warns when its version expires within ``WARN_BEFORE_EXPIRY``, and a test fails once a
default is past its recorded expiry, so the table is kept current.

What an expired version answers differs by API, which is why the warning matters even where
nothing fails:

- Meta Marketing API: HTTP 400, code 2635 "(#2635) You are calling a deprecated version of the
  Ads API. Please update to the latest version: vNN.0." Since Meta's version auto-upgrade
  (announced 2024-04-16 for v17.0's expiry; the Graph API changelog of 2026 dates its Marketing
  API release 2026-07-29), a call to an expired version of an endpoint that did not change in
  the next version is served as that next version instead, with an ``X-Ad-Api-Version-Warning``
  header; endpoints that changed, and apps that turned auto-upgrade off ("Ads API Version
  Settings"), still get 2635. Either way the data comes from a version we did not ask for.
- Graph API (Pages, Instagram): a call to a version that is no longer available is served as
  the oldest available version (Meta, "Platform Versioning"): no error, only other behaviour.

Keep every row's evidence: the platform page (or announcement) that gives the dates.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from extractors.connections import PlatformConnection

log = logging.getLogger(__name__)

WARN_BEFORE_EXPIRY = timedelta(days=60)


@dataclass(frozen=True)
class ApiVersion:
    version: str
    released: date | None  # None: not recorded (only retired versions we no longer send)
    expires: date | None  # None: the platform has not announced a date yet
    evidence: str


@dataclass(frozen=True)
class PlatformApi:
    name: str  # as the platform calls it, for messages
    default: str
    versions: tuple[ApiVersion, ...]

    def version(self, name: str) -> ApiVersion | None:
        return next((v for v in self.versions if v.version == name), None)

    def supported(self, on: date) -> list[str]:
        return [v.version for v in self.versions if v.expires is None or v.expires > on]


_META_HISTORY = (
    "Meta, 'Marketing API version history' (developers.facebook.com/documentation/ads-commerce/marketing-api/"
    "marketing-api-changelog/versions), as read 2026-12-03"
)
_GRAPH_HISTORY = (
    "Meta, 'Graph API changelog: versions' (developers.facebook.com/docs/graph-api/changelog/versions), as read 2026-12-03"
)
_GRAPH_V27 = "Meta for Developers blog, 'Introducing Graph API v27.0 and Marketing API v27.0' (2026-11-04)"
_GOOGLE_ADS_BLOG = "Google Ads Developer Blog"
_GOOGLE_ADS_SCHEDULE = f"{_GOOGLE_ADS_BLOG}, 'More frequent releases coming for the Google Ads API' (2025-09-04)"

PLATFORMS: dict[str, PlatformApi] = {
    # The Marketing API (ads) and the Graph API (pages, Instagram) share version names but not expiry
    # dates: Marketing API versions live about a year, Graph API versions about two.
    # Marketing default v26.0: v25.0 expires 2027-02-23 (the run would warn from 2026-12-25), v26.0 has
    # no announced expiry and has been out since July; v27.0 (November) is allowed through the extra.
    # Graph default v25.0: the newest version with a published expiry (2028-07-29).
    "meta_marketing": PlatformApi(
        "Meta Marketing API",
        "v26.0",
        (
            ApiVersion("v21.0", date(2024, 10, 2), date(2025, 9, 9), _META_HISTORY),
            ApiVersion("v22.0", date(2025, 1, 21), date(2026, 2, 19), _META_HISTORY),
            ApiVersion("v23.0", date(2025, 5, 29), date(2026, 6, 9), _META_HISTORY),
            ApiVersion("v24.0", date(2025, 10, 8), date(2026, 11, 10), _META_HISTORY),
            ApiVersion("v25.0", date(2026, 2, 18), date(2027, 2, 23), _META_HISTORY),
            ApiVersion("v26.0", date(2026, 7, 29), None, _META_HISTORY),
            ApiVersion("v27.0", date(2026, 11, 4), None, _META_HISTORY),
        ),
    ),
    "graph": PlatformApi(
        "Graph API",
        "v25.0",
        (
            ApiVersion("v19.0", date(2024, 1, 23), date(2026, 5, 21), _GRAPH_HISTORY),
            ApiVersion("v20.0", date(2024, 5, 21), date(2026, 9, 24), _GRAPH_HISTORY),
            ApiVersion("v21.0", date(2024, 10, 2), date(2027, 1, 21), _GRAPH_HISTORY),
            ApiVersion("v22.0", date(2025, 1, 21), date(2027, 5, 20), _GRAPH_HISTORY),
            ApiVersion("v23.0", date(2025, 5, 29), date(2027, 10, 8), _GRAPH_HISTORY),
            ApiVersion("v24.0", date(2025, 10, 8), date(2028, 2, 18), _GRAPH_HISTORY),
            ApiVersion("v25.0", date(2026, 2, 18), date(2028, 7, 29), _GRAPH_HISTORY),
            ApiVersion("v26.0", date(2026, 7, 29), None, _GRAPH_HISTORY),
            ApiVersion("v27.0", date(2026, 11, 4), None, _GRAPH_V27),
        ),
    ),
    # Google announces each sunset day in a reminder about six weeks ahead; until then the sunset page gives
    # a projected month, recorded as its first day so the warning comes early rather than late. Google's
    # sunset page recommends v26 to new integrations; every GAQL field we query is unchanged across v22-v26.
    "google_ads": PlatformApi(
        "Google Ads API",
        "v26",
        (
            ApiVersion("v17", None, date(2025, 6, 4), f"{_GOOGLE_ADS_BLOG}, 'Google Ads API v17 sunset reminder' (2025-04-23)"),
            ApiVersion("v19", None, date(2026, 2, 11), f"{_GOOGLE_ADS_BLOG}, 'Google Ads API v19 sunset reminder' (2025-12-15)"),
            ApiVersion("v20", None, date(2026, 6, 10), f"{_GOOGLE_ADS_BLOG}, 'Google Ads API v20 sunset reminder' (2026-04-29)"),
            ApiVersion("v21", None, date(2026, 8, 5), f"{_GOOGLE_ADS_BLOG}, 'Google Ads API v21 sunset reminder' (2026-06-25)"),
            ApiVersion(
                "v22",
                date(2025, 10, 15),
                date(2026, 10, 7),
                f"{_GOOGLE_ADS_BLOG}, 'Google Ads API v22 sunset reminder' (2026-09-02); released with the client "
                "libraries of 2025-10-15",
            ),
            ApiVersion(
                "v23",
                date(2026, 1, 28),
                date(2027, 2, 1),
                f"{_GOOGLE_ADS_BLOG}, 'Announcing v23 of the Google Ads API' (2026-01-28); sunset projected for "
                f"February 2027 in {_GOOGLE_ADS_SCHEDULE}",
            ),
            ApiVersion(
                "v24",
                date(2026, 4, 22),
                date(2027, 5, 1),
                f"Google Ads client libraries adding v24 (2026-04-22); sunset projected for May 2027 in {_GOOGLE_ADS_SCHEDULE}",
            ),
            ApiVersion(
                "v25",
                date(2026, 7, 22),
                date(2027, 8, 1),
                f"Google Ads API release notes (v25: 2026-07-22); sunset projected for August 2027 in {_GOOGLE_ADS_SCHEDULE}",
            ),
            ApiVersion(
                "v26",
                date(2026, 10, 14),
                date(2027, 11, 1),
                f"{_GOOGLE_ADS_BLOG}, 'Announcing v26 of the Google Ads API' (2026-10-14); sunset projected for "
                f"November 2027 in {_GOOGLE_ADS_SCHEDULE}; 'Deprecation and sunset' page: start with v26",
            ),
        ),
    ),
}


def api_version(platform: str, conn: PlatformConnection, *, today: date | None = None) -> str:
    """The version to call: the connection's ``api_version`` extra, else the platform's default.

    Logs a warning when the version is past or near its recorded expiry (the platform will refuse it
    from that day); a version the table does not know is sent as given.
    """
    api = PLATFORMS[platform]
    chosen = str(conn.extra.get("api_version") or api.default)
    today = today or datetime.now(UTC).date()
    known = api.version(chosen)
    if known is not None and known.expires is not None and known.expires - today <= WARN_BEFORE_EXPIRY:
        newest = api.supported(today)[-1:] or [api.default]
        when = "expired" if known.expires <= today else "expires"
        log.warning(
            "%s %s %s on %s: set the extra 'api_version' of connection '%s' to a newer one, e.g. %s",
            api.name,
            chosen,
            when,
            known.expires.isoformat(),
            conn.conn_id,
            newest[0],
        )
    return chosen


def deprecated_version_message(platform: str, conn_id: str, version: str, *, today: date | None = None) -> str:
    """The one line a refusal of a retired version becomes."""
    api = PLATFORMS[platform]
    today = today or datetime.now(UTC).date()
    supported = api.supported(today)
    suggestion = api.default if api.default in supported else (supported[-1] if supported else api.default)
    return (
        f"{api.name} refused version {version} as retired: set the extra 'api_version' of connection "
        f"'{conn_id}' to a supported version, e.g. \"{suggestion}\" (or remove it to use the default)"
    )
