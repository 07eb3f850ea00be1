"""Workload mode: the Canary names a Deployment, and the operator owns a primary copy of it and
the two Services the route weighs (docs/workloads.md).

Declarations only: reading and writing Deployments is the controller's job, the release flow the
core's.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field

from canary.api.duration import Duration, minimum_duration_rule, parse_duration
from canary.api.model import ApiModel
from canary.api.route import BackendRef

PRIMARY_SUFFIX = "-primary"
CANARY_SUFFIX = "-canary"
# The label the operator's Services select and the primary's pods carry, so that the primary's
# and the canary's pods are told apart whatever labels the user's template has.
POD_LABEL = "rollouts.canary-operator.io/workload"

Image = Annotated[str, Field(max_length=1024)]


class OnDelete(StrEnum):
    """What deleting the Canary leaves behind."""

    RESTORE = "Restore"
    KEEP = "Keep"


class AutoscalerRef(ApiModel):
    """A HorizontalPodAutoscaler of the Deployment, copied for the primary."""

    name: str = Field(pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", min_length=1, max_length=253)
    """Name of the HorizontalPodAutoscaler (autoscaling/v2), in the Canary's namespace."""


class WorkloadRef(ApiModel):
    """Workload mode: the Deployment to release. The operator creates `<name>-primary` (a copy of
    its pod template with the operator's own selector), the Services `<name>-primary` and
    `<name>-canary`, and from then on runs the Deployment itself only during a rollout. Changing
    the Deployment's pod template (`kubectl set image`) starts a rollout; the route's managed
    rule must reference the two Services."""

    cel_rules = (
        minimum_duration_rule(
            "progress_deadline", "10s", "workload: progressDeadline must be at least 10s"
        ),
    )

    kind: Literal["Deployment"] = "Deployment"
    """The workload's kind; `Deployment` (apps/v1) only."""

    name: str = Field(pattern=r"^[a-z]([-a-z0-9]*[a-z0-9])?$", min_length=1, max_length=55)
    """Name of the Deployment, in the Canary's namespace (at most 55 characters, so that
    `<name>-primary` is a valid Service name)."""

    port: int = Field(ge=1, le=65535)
    """The port both Services expose, as the route's backendRefs name it."""

    target_port: int | None = Field(default=None, ge=1, le=65535)
    """The pods' port the Services send to. Defaults to `port`."""

    progress_deadline: Duration = "10m"
    """How long the canary may take to become ready after a new pod template (and the primary
    after the promotion copied it). Past it, the rollout is rolled back
    (`ProgressDeadlineExceeded`) and the canary scaled to zero."""

    autoscaler_ref: AutoscalerRef | None = None
    """The Deployment's HorizontalPodAutoscaler, if it has one: the operator copies it for the
    primary (`<name>-primary`), so the primary scales as the Deployment did."""

    on_delete: OnDelete = OnDelete.RESTORE
    """What deleting the Canary leaves: `Restore` scales the Deployment back to the primary's
    replicas (its pods then serve through the user's own Service, if any), keeping the
    primary serving 100 % until the route is changed; `Keep` leaves the primary and the
    Services as they are and the Deployment at zero."""

    @property
    def primary(self) -> str:
        return self.name + PRIMARY_SUFFIX

    @property
    def canary(self) -> str:
        return self.name + CANARY_SUFFIX

    def backends(self) -> tuple[BackendRef, BackendRef]:
        """The (stable, canary) backends the route weighs: the two operator-owned Services."""
        return BackendRef(name=self.primary, port=self.port), BackendRef(
            name=self.canary, port=self.port
        )

    def deadline(self) -> timedelta:
        return parse_duration(self.progress_deadline)


class WorkloadStatus(ApiModel):
    """Where the workload stands: which pod template each Deployment runs."""

    primary_revision: str | None = Field(default=None, max_length=64)
    """The pod template hash the primary runs (what 100 % of the traffic gets when idle)."""

    canary_revision: str | None = Field(default=None, max_length=64)
    """The pod template hash of the Deployment: the canary of the rollout under way, or the
    last one."""

    images: tuple[Image, ...] = Field(default=(), max_length=32)
    """The canary's container images, in the template's order (`canary wait --image`)."""

    replicas: int | None = Field(default=None, ge=0)
    """The replicas the primary runs and the canary is scaled to during a rollout, recorded
    from the Deployment before the operator first scaled it to zero."""

    waiting_since: datetime | None = None
    """Since when the operator waits for a Deployment to become ready: the canary after a new
    pod template, the primary after the promotion copied it; the progress deadline runs from
    here. Absent when nothing is waited for."""
