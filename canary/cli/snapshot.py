"""A Canary object as the CLI reads it: identity, generation, the revision its spec asks for,
`spec.paused`, and the typed status.

Pure and tolerant of the spec (a Canary written for a newer operator still shows); the status
is the operator's own and is read with the API model.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pydantic import ValidationError

from canary.api.spec import CanarySpec
from canary.api.status import CanaryStatus
from canary.cli.exitcodes import CliFailure, ExitCode
from canary.kube.resources import JsonObj


@dataclass(frozen=True)
class Snapshot:
    namespace: str
    name: str
    uid: str
    generation: int
    created: datetime | None
    target_revision: str | None
    """What the spec asks for: `spec.revision`, else the canary backend `name:port`."""
    paused: bool
    status: CanaryStatus
    spec: CanarySpec | None
    """The parsed spec, None if this CLI cannot read it."""
    raw: JsonObj

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


def target_revision(spec: JsonObj) -> str | None:
    if spec.get("revision"):
        return str(spec["revision"])
    backend = spec.get("canary") or {}
    if backend.get("name") and backend.get("port"):
        return f"{backend['name']}:{backend['port']}"
    return None


def snapshot(obj: JsonObj) -> Snapshot:
    meta, spec = obj.get("metadata") or {}, obj.get("spec") or {}
    key = f"{meta.get('namespace', '')}/{meta.get('name', '')}"
    try:
        status = CanaryStatus.model_validate(obj.get("status") or {})
    except ValidationError as exc:
        raise CliFailure(ExitCode.ERROR, f"cannot read the status of Canary {key}: {exc}") from exc
    try:
        parsed: CanarySpec | None = CanarySpec.model_validate(spec)
    except ValidationError:
        parsed = None
    created = meta.get("creationTimestamp")
    return Snapshot(
        namespace=str(meta.get("namespace", "")),
        name=str(meta.get("name", "")),
        uid=str(meta.get("uid", "")),
        generation=int(meta.get("generation") or 0),
        created=datetime.fromisoformat(created) if created else None,
        target_revision=target_revision(spec),
        paused=bool(spec.get("paused", False)),
        status=status,
        spec=parsed,
        raw=obj,
    )
