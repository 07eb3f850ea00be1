"""Small value builders several test folders share."""

from __future__ import annotations

import dataclasses
from typing import Any

from canary.providers.variables import QueryVariables
from canary.routers import BackendKey

# The backends of the route `web` in the router tests.
STABLE = BackendKey("web-stable", 80)
CANARY = BackendKey("web-canary", 80)


def query_variables(**changes: Any) -> QueryVariables:
    """The query variables of Canary `web` in namespace `shop`; any field can be changed (a
    changed `namespace` is also the backends' unless they are given their own)."""
    base = QueryVariables(
        namespace="shop",
        canary="web",
        route="web-route",
        stable_service="web-stable",
        stable_port=8080,
        canary_service="web-canary",
        canary_port=8080,
        stable_namespace="shop",
        canary_namespace="shop",
        interval="1m",
    )
    if "namespace" in changes:  # the backends live in the Canary's namespace unless told
        changes.setdefault("stable_namespace", changes["namespace"])
        changes.setdefault("canary_namespace", changes["namespace"])
    return dataclasses.replace(base, **changes)
