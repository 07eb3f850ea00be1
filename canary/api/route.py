"""The traffic side of a Canary: which route it steers and which two backends it weighs.

Only references live here; reading or patching the route is `canary.routers`' job.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import Field

from canary.api.model import ApiModel

DNS_LABEL = r"^[a-z]([-a-z0-9]*[a-z0-9])?$"
SECTION_NAME = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
OBJECT_NAME = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"

RuleName = Annotated[str, Field(pattern=SECTION_NAME, min_length=1, max_length=253)]


class RouteKind(StrEnum):
    """The Gateway API route kinds a Canary may reference."""

    HTTP_ROUTE = "HTTPRoute"
    GRPC_ROUTE = "GRPCRoute"


class RouteRef(ApiModel):
    """The existing route (in the Canary's namespace) whose backendRef weights the operator
    shifts. The operator never creates, deletes or otherwise rewrites this route during a
    rollout; it changes only the `weight` of the two managed backendRefs."""

    kind: RouteKind = RouteKind.HTTP_ROUTE
    """Route kind. `GRPCRoute` is accepted by the schema for forward compatibility; an operator
    that cannot steer it reports `InvalidSpec` with reason `UnsupportedRouteKind`."""

    name: str = Field(pattern=OBJECT_NAME, min_length=1, max_length=253)
    """Name of the route, in the same namespace as the Canary."""

    rule_names: tuple[RuleName, ...] | None = Field(default=None, max_length=16)
    """Names (`rules[].name`) of the rules to manage. When empty or absent, every rule whose
    `backendRefs` contain both the stable and the canary backend is managed."""


class BackendRef(ApiModel):
    """A Service backend exactly as it appears in the route's `backendRefs` (namespace, name and
    port)."""

    name: str = Field(pattern=DNS_LABEL, min_length=1, max_length=63)
    """Name of the Service."""

    port: int = Field(ge=1, le=65535)
    """Port of the Service, as in the backendRef's `port`."""

    namespace: str | None = Field(default=None, pattern=DNS_LABEL, min_length=1, max_length=63)
    """Namespace of the Service, as in the backendRef's `namespace`; absent means the Canary's
    (and the route's) own namespace. A Service in another namespace needs a ReferenceGrant in
    that namespace allowing HTTPRoutes from the route's namespace to reach it; without one the
    rollout holds (`RouteAccepted=False`, reason `RefNotPermitted`) and the message gives the
    grant to create. The operator must watch that namespace too."""

    def __str__(self) -> str:
        where = f"{self.namespace}/" if self.namespace else ""
        return f"{where}{self.name}:{self.port}"
