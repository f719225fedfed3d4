"""The source registry: one module per platform, each defining a ``Source``."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

from extractors.connections import PlatformConnection
from extractors.errors import ConfigError
from extractors.http import HttpClient, RateLimit, RetryPolicy
from extractors.streams import Stream, Window

DEFAULT_TIMEOUT_S = 120.0


class Source:
    """A platform: its streams (data) and the few lines that speak its contract."""

    name: str
    conn_id: str
    streams: tuple[Stream, ...]
    max_concurrency: int = 4  # parallel requests this platform tolerates per token
    rate_limits: tuple[RateLimit, ...] = ()  # documented request rates the client paces itself under
    needs_password: bool = True  # False for a public API that takes no token

    def accounts(self, conn: PlatformConnection, stream: Stream) -> list[str]:
        """The accounts (ad accounts, portals, properties, pages...) this stream is read for."""
        raise NotImplementedError

    def client(self, conn: PlatformConnection) -> HttpClient:
        """Bearer-token auth, as most platforms use; a source with other auth builds on ``http_client``."""
        return self.http_client(conn, headers={"Authorization": f"Bearer {conn.password}"})

    def http_client(
        self, conn: PlatformConnection, headers: dict[str, str] | None = None, secrets: list[str] | None = None
    ) -> HttpClient:
        """The shared client with this platform's concurrency limit and the connection's
        ``timeout_s`` extra (seconds to wait for an answer, default 120)."""
        try:
            timeout_s = float(conn.extra.get("timeout_s", DEFAULT_TIMEOUT_S))
        except (TypeError, ValueError):
            raise ConfigError(f"connection '{conn.conn_id}' extra 'timeout_s' is not a number of seconds") from None
        policy = RetryPolicy(read_timeout_s=timeout_s)
        return HttpClient(
            self.name,
            conn.base_url,
            headers=headers,
            secrets=[conn.password, *(secrets or [])],
            max_concurrency=self.max_concurrency,
            policy=policy,
            rate_limits=self.rate_limits,
        )

    default_history = timedelta(days=90)

    def initial_start(self, conn: PlatformConnection, stream: Stream, end: datetime) -> datetime | None:
        """Where a stream's first run begins. Report (window) streams start at the connection's
        ``start_date`` extra, else ``default_history`` before the end; others read everything (None)."""
        if stream.load != "window":
            return None
        configured = conn.extra.get("start_date")
        if not configured:
            return end - self.default_history
        try:
            return datetime.combine(date.fromisoformat(str(configured)), datetime.min.time(), UTC)
        except ValueError:
            raise ConfigError(f"connection '{conn.conn_id}' extra 'start_date' is not YYYY-MM-DD: {configured!r}") from None

    def read(
        self, client: HttpClient, conn: PlatformConnection, stream: Stream, account: str, window: Window
    ) -> Iterator[list[dict]]:
        """The unit's pages of records; a ``landing.Note`` between them is a remark its manifest keeps."""
        raise NotImplementedError

    def stream(self, name: str) -> Stream:
        for s in self.streams:
            if s.name == name:
                return s
        raise ConfigError(
            f"unknown stream '{name}' for source '{self.name}': choose from {', '.join(s.name for s in self.streams)}"
        )


# name -> module and class: a run imports only its own source (Google's need cryptography, ~1 s to import).
SOURCES = {
    "hubspot": ("extractors.sources.hubspot", "HubSpot"),
    "meta_ads": ("extractors.sources.meta_ads", "MetaAds"),
    "google_ads": ("extractors.sources.google_ads", "GoogleAds"),
    "ga4": ("extractors.sources.ga4", "GA4"),
    "mailchimp": ("extractors.sources.mailchimp", "Mailchimp"),
    "facebook_pages": ("extractors.sources.facebook_pages", "FacebookPages"),
    "cbr": ("extractors.sources.cbr", "CentralBankOfRussia"),
}


def _instance(name: str) -> Source:
    from importlib import import_module

    module, cls = SOURCES[name]
    return getattr(import_module(module), cls)()


def registry() -> dict[str, Source]:
    return {name: _instance(name) for name in SOURCES}


def get_source(name: str) -> Source:
    if name not in SOURCES:
        raise ConfigError(f"unknown source '{name}': choose from {', '.join(sorted(SOURCES))}")
    return _instance(name)
