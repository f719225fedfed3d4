"""Errors a user can act on. Each message is one line naming what to fix."""


class ExtractError(Exception):
    """Base class: the run stops, the warehouse keeps its previous state."""


class ConfigError(ExtractError):
    """Bad input: unknown source or stream, missing connection or extra, bad dates."""


class AuthError(ExtractError):
    """The platform rejected the credentials (401, Meta code 190)."""


class ForbiddenError(ExtractError):
    """The credentials work but may not read this account (403, Meta permission codes)."""


class ApiError(ExtractError):
    """The platform kept failing, or answered something we cannot use."""


class QuotaExhausted(ApiError):
    """The platform's quota for a period (an hour, a day) is spent: retrying within seconds cannot
    help. The unit that met it stops; it can be read once the period has passed (the next run)."""


class PartialFailure(ExtractError):
    """Some accounts failed; the others were loaded."""
