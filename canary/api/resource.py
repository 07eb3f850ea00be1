"""The Canary custom resource as a whole object: type metadata, object metadata, spec, status.

Used to read and write whole objects; the CRD schema describes only `spec` and `status`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import ConfigDict, Field

from canary.api.group import API_VERSION, KIND
from canary.api.model import ApiModel
from canary.api.spec import CanarySpec
from canary.api.status import CanaryStatus


class ObjectMeta(ApiModel):
    """The parts of `metadata` the operator and the CLI read."""

    name: str
    namespace: str = "default"
    uid: str | None = None
    generation: int = 0
    resource_version: str | None = None
    creation_timestamp: datetime | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)


class Canary(ApiModel):
    """A progressive rollout of an HTTPRoute's backend, gated on Prometheus metrics."""

    model_config = ConfigDict(title="Canary")

    api_version: Literal["rollouts.canary-operator.io/v1alpha1"] = API_VERSION
    kind: Literal["Canary"] = KIND
    metadata: ObjectMeta
    spec: CanarySpec
    status: CanaryStatus = Field(default_factory=CanaryStatus)
