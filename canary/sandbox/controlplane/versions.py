"""Pinned versions of every binary the sandbox builds or fetches.

One place to bump when upgrading; the build cache is keyed by these strings, so a bump
never reuses a binary built for another version.
"""

from __future__ import annotations

from typing import Final

KUBERNETES_VERSION: Final = "v1.36.3"
ETCD_VERSION: Final = "v3.6.16"
GATEWAY_API_VERSION: Final = "v1.6.3"
# The sandbox's real gateway controller (its own CRDs ship in the same module).
CONTOUR_VERSION: Final = "v1.33.8"
# The Prometheus Operator's CRDs, to validate the chart's ServiceMonitor with a real dry run.
PROMETHEUS_OPERATOR_VERSION: Final = "v0.85.0"
# Debian bookworm's prometheus package; extracted (not installed) into the cache.
PROMETHEUS_DEB_VERSION: Final = "2.42.0+ds-5+deb12u1"
