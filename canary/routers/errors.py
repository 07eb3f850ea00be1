"""What can go wrong when a router reads or writes a route, as our own exception types.

Callers branch on the type: a shape or weight error is permanent until someone edits the
route or the Canary; contention is temporary. API failures stay `canary.kube.errors` types.
"""

from __future__ import annotations


class RouterError(Exception):
    """A traffic router could not do what was asked; the message says what to fix."""


class RouteNotFoundError(RouterError):
    """The route does not exist (or vanished while we were writing it)."""


class RouteShapeError(RouterError):
    """The route does not hold the managed backendRefs where the Canary says they are."""


class InvalidWeightError(RouterError, ValueError):
    """A weight outside 0..100 (or not an integer); refused before anything is sent."""


class RoutePatchRejectedError(RouterError):
    """The API server refused a patch that no concurrent change explains (e.g. validation)."""


class RouteContendedError(RouterError):
    """Someone else kept changing the route: every guarded patch attempt was rejected."""


class RouteChangedUnderDecisionError(RouterError):
    """The route changed between the read a decision was based on and the write, and the write
    would give the canary more traffic: it is not re-applied on the new route; the caller
    decides again from fresh state (`route`: the route as it is now)."""

    def __init__(self, message: str, *, route: dict[str, object]) -> None:
        super().__init__(message)
        self.route = route


class UnsupportedRouteKindError(RouterError):
    """No router handles this kind of route: an explicit refusal, never a silent fallback."""
