"""Our own small error hierarchy for API failures; foreign exceptions never leak past canary.kube.

Callers decide on retry from the type: Conflict → re-read and retry, Gone → relist,
NotFound → the object is gone, Invalid/Forbidden → a permanent problem to report.
"""

from __future__ import annotations


class KubeError(Exception):
    """An API call failed. `status` is the HTTP status (0 when the server was not reached)."""

    def __init__(self, message: str, *, status: int = 0, reason: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason


class NotFound(KubeError):
    """404: the object (or its kind) does not exist."""


class Conflict(KubeError):
    """409: resourceVersion mismatch or already exists."""


class Gone(KubeError):
    """410: the resourceVersion is too old; relist."""


class Invalid(KubeError):
    """422 (or a failed JSON-patch `test`): the request was rejected as invalid."""


class Forbidden(KubeError):
    """401/403: RBAC or authentication refused the request."""


class Unavailable(KubeError):
    """Connection failures, timeouts and 5xx: worth retrying with backoff."""


def error_for(status: int, message: str, reason: str = "") -> KubeError:
    """Map an HTTP status to the error type callers branch on."""
    kinds: dict[int, type[KubeError]] = {
        404: NotFound,
        409: Conflict,
        410: Gone,
        422: Invalid,
        401: Forbidden,
        403: Forbidden,
    }
    if status in kinds:
        return kinds[status](message, status=status, reason=reason)
    if status == 0 or status >= 500 or status == 429:
        return Unavailable(message, status=status, reason=reason)
    return KubeError(message, status=status, reason=reason)
