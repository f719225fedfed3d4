"""Errors a user can act on. Each message is one line naming what to fix.

``retryable`` says whether running the same thing again later can succeed: the Airflow DAG
fails at once (no retries) on a refusal that would only be repeated, and retries the rest.
"""

from __future__ import annotations


class ExtractError(Exception):
    """Base class: the run stops, the warehouse keeps its previous state."""

    retryable = False

    def __init__(self, message: str, *, status: int | None = None, body: object = None):
        super().__init__(message)
        self.status = status  # the HTTP status of the platform's answer, when there was one
        self.body = body  # its parsed JSON (for a source to recognise its platform's error); never logged

    @property
    def platform_error(self) -> dict:
        """The platform's own error object when it sent one (Graph's ``{message, type, code, error_subcode}``,
        Google's ``{code, message, status, details}``), so a source can tell one refusal from another."""
        error = self.body.get("error") if isinstance(self.body, dict) else None
        return error if isinstance(error, dict) else {}


class ConfigError(ExtractError):
    """Bad input: unknown source or stream, missing connection or extra, bad dates."""


class ApiVersionError(ConfigError):
    """The platform refused the API version the connection asks for as retired (or unknown)."""


class AuthError(ExtractError):
    """The platform rejected the credentials (401, Meta code 190, an OAuth refresh refused)."""


class ForbiddenError(ExtractError):
    """The credentials work but may not read this account (403, Meta permission codes)."""


class ApiError(ExtractError):
    """The platform kept failing, or answered something we cannot use. A later try may succeed."""

    retryable = True


class RefusedError(ApiError):
    """The platform refused the request for good (a 4xx other than 401, 403, 408 and 429): the same
    request gets the same answer, so neither the client nor Airflow repeats it."""

    retryable = False


class RequestTooLarge(ApiError):
    """Meta's HTTP 500 code 1 "Please reduce the amount of data you're asking for": the same request
    fails again, so it is never repeated as it is; the source asks for less (a shorter window)."""

    retryable = False


class QuotaExhausted(ApiError):
    """The platform's quota for a period (an hour, a day) is spent: retrying within seconds cannot
    help. The unit that met it stops; it can be read once the period has passed (the next run)."""


class LandingMismatch(ExtractError):
    """A landed batch does not hold what its manifest says (e.g. a page lost in a power cut)."""


class PartialFailure(ExtractError):
    """Units (stream x account x window) failed; the others, if any, were landed and loaded. The failed
    units keep their cursors, so the next run (or a retry of the extract) reads exactly them."""

    def __init__(
        self, message: str, *, retryable: bool = False, failed: dict[str, str] | None = None, results: list | None = None
    ):
        super().__init__(message)
        self.retryable = retryable
        self.failed = failed or {}  # "stream/account" -> why that unit failed
        self.results = results or []  # the LoadResults of what did load, when raised by a load
