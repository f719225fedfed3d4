"""Errors a user can act on. Each message is one line naming what to fix."""


class ExtractError(Exception):
    """Base class: the run stops, the warehouse keeps its previous state."""


class ConfigError(ExtractError):
    """Bad input: unknown source or stream, missing connection or extra, bad dates."""


class RetiredVersionError(ConfigError):
    """The platform refused the API version as retired (Meta code 2635): the connection's
    ``api_version`` extra (or the default in extractors/api_versions.py) must change. Retrying,
    by the HTTP layer or by Airflow, cannot help: it is bad configuration."""


class AuthError(ExtractError):
    """The platform rejected the credentials (401, Meta code 190)."""


class ForbiddenError(ExtractError):
    """The credentials work but may not read this account (403, Meta permission codes)."""


class ApiError(ExtractError):
    """The platform kept failing, or answered something we cannot use.

    ``platform_error`` is the platform's own error object when it sent one (Graph's
    ``{message, type, code, error_subcode, ...}``), so a source can tell one refusal from another."""

    def __init__(self, message: str, platform_error: dict | None = None):
        super().__init__(message)
        self.platform_error = platform_error or {}


class RequestTooLarge(ApiError):
    """Meta's HTTP 500 code 1 "Please reduce the amount of data you're asking for": the same
    request will fail again, so it is never retried as it is; the caller asks for less."""


class PartialFailure(ExtractError):
    """Some accounts failed; the others were loaded."""
