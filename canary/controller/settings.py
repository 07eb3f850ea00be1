"""Operator-wide settings: defaults for every Canary and knobs for the control loop.

A frozen pydantic model; the CLI fills it from flags and `CANARY_*` environment variables.
It holds configuration only, never state.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


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
    field_manager: str = Field("canary-operator", description="Field manager of our writes.")
