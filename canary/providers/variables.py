"""The variables a metric query template may use, validated once, as plain strings.

Names come from Kubernetes objects and are escaped by `render`; the interval is the one value
that stands bare in PromQL (`[{{ interval }}]`), so it must be a Prometheus duration.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

# Prometheus' duration grammar: units in descending order, each at most once.
_DURATION = re.compile(r"(\d+y)?(\d+w)?(\d+d)?(\d+h)?(\d+m)?(\d+s)?(\d+ms)?")

VARIABLE_NAMES = (
    "namespace",
    "canary",
    "route",
    "stable_service",
    "stable_port",
    "canary_service",
    "canary_port",
    "stable_namespace",
    "canary_namespace",
    "interval",
)


def is_duration(text: str) -> bool:
    """Whether `text` is a non-zero Prometheus duration such as `30s` or `1m30s`."""
    nonzero = any(digit in text for digit in "123456789")
    return nonzero and _DURATION.fullmatch(text) is not None


@dataclass(frozen=True)
class QueryVariables:
    """What a template can refer to: the canary (`namespace` is the Canary's own), its route
    and backends (each with its own namespace), the query window."""

    namespace: str
    canary: str
    route: str
    stable_service: str
    stable_port: int
    canary_service: str
    canary_port: int
    stable_namespace: str
    """The stable Service's namespace: `namespace` unless `spec.stable.namespace` names another."""
    canary_namespace: str
    """The canary Service's namespace: `namespace` unless `spec.canary.namespace` names another,
    so a query about a cross-namespace canary names the namespace its metrics are labelled with."""
    interval: str

    def __post_init__(self) -> None:
        if not is_duration(self.interval):
            raise ValueError(
                f"interval must be a Prometheus duration like '30s' or '1m', got {self.interval!r}"
            )
        for name in ("stable_port", "canary_port"):
            port = getattr(self, name)
            if not 1 <= port <= 65535:
                raise ValueError(f"{name} must be a TCP port (1-65535), got {port}")

    def as_mapping(self) -> dict[str, str]:
        """The variables as `render` takes them."""
        return {name: str(value) for name, value in asdict(self).items()}
