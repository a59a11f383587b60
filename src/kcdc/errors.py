"""Exceptions of the kcdc client: one class per failure, each message says what to do."""
from __future__ import annotations


class KCDCError(Exception):
    """Base class of every kcdc error. ``status`` is the HTTP status (if any),
    ``code`` the service's error code, ``body`` its JSON answer."""

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None,
                 body: dict | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.body = body or {}


class InvalidRequest(KCDCError, ValueError):
    """The data service refused the request as given (unknown data shop or column,
    malformed cut, wrong value type, ...): change what the message names."""


class AuthenticationError(KCDCError):
    """No valid token, or the token may not use the data service."""


class NotYourRequest(KCDCError):
    """The request belongs to somebody else (or does not exist any more)."""


class LimitExceeded(KCDCError):
    """A per-user limit was hit; ``limit`` names it and ``limit_value`` is its value."""

    @property
    def limit(self) -> str | None:
        return self.body.get("limit")

    @property
    def limit_value(self) -> int | None:
        return self.body.get("limit_value")


class RequestFailed(KCDCError):
    """The request ended in state Failed; ``reason`` says why."""

    @property
    def reason(self) -> str | None:
        return self.body.get("reason")


class RequestExpired(KCDCError):
    """The result expired and was purged: submit the request again."""


class ServiceUnavailable(KCDCError):
    """The data service (or the hub behind it) cannot be reached or is overloaded."""


__all__ = ["KCDCError", "InvalidRequest", "AuthenticationError", "NotYourRequest", "LimitExceeded",
           "RequestFailed", "RequestExpired", "ServiceUnavailable"]
