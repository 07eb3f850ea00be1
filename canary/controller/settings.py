"""Operator-wide settings: defaults for every Canary and knobs for the control loop.

A frozen pydantic model; the CLI fills it from flags and `CANARY_*` environment variables.
It holds configuration only, never state.
"""

from __future__ import annotations

from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator


class LeaderElectionSettings(BaseModel):
    """Which Lease decides the one active replica, and its timing (client-go's semantics)."""

    model_config = ConfigDict(frozen=True)

    enabled: bool = Field(False, description="Run only while holding the Lease.")
    lease_name: str = Field("canary-operator", description="Name of the Lease.")
    lease_namespace: str = Field("default", description="Namespace of the Lease.")
    identity: str = Field("", description="Holder identity; empty means host name + random id.")
    lease_duration_seconds: float = Field(
        15.0, gt=0, description="A standby takes over this long after the last renewal it saw."
    )
    renew_deadline_seconds: float = Field(
        10.0, gt=0, description="The leader stops acting if it has not renewed for this long."
    )
    retry_period_seconds: float = Field(
        2.0, gt=0, description="How often to try to acquire or renew."
    )

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if not (
            self.retry_period_seconds < self.renew_deadline_seconds < self.lease_duration_seconds
        ):
            raise ValueError(
                "leader election needs retry period < renew deadline < lease duration, so a "
                "leader stops before a standby may take over"
            )
        return self


class OperatorSettings(BaseModel):
    """How one operator process runs."""

    model_config = ConfigDict(frozen=True)

    prometheus_address: str = Field(
        "http://127.0.0.1:9090",
        description="Prometheus used by Canaries that don't name their own address.",
    )
    prometheus_timeout_seconds: float = Field(10.0, gt=0, description="Per-query timeout.")
    workers: int = Field(4, ge=1, le=256, description="Canaries reconciled concurrently.")
    namespaces: tuple[str, ...] = Field(
        (), description="Namespaces to watch; empty means all namespaces."
    )
    label_selector: str | None = Field(
        None, description="Only Canaries matching this selector (for sharding operators)."
    )
    reconcile_timeout_seconds: float = Field(60.0, gt=0, description="Budget of one reconcile.")
    resync_seconds: float = Field(
        300.0, gt=0, description="Look at every Canary at least this often, even if idle."
    )
    workloads: bool = Field(
        False,
        description="Workload mode: watch Deployments and HorizontalPodAutoscalers and manage"
        " the Deployments Canaries name in spec.workload. Off: a Canary with spec.workload is told"
        " so (its Deployment's observation says workload mode is off) and nothing is written.",
    )
    field_manager: str = Field("canary-operator", description="Field manager of our writes.")
    leader_election: LeaderElectionSettings = Field(default_factory=LeaderElectionSettings)
    listen_address: str = Field("0.0.0.0", description="Address of the metrics and health ports.")
    metrics_port: int = Field(0, ge=0, le=65535, description="Prometheus metrics; 0: off.")
    health_port: int = Field(0, ge=0, le=65535, description="/healthz and /readyz; 0: off.")
