"""Assemble the Canary CustomResourceDefinition from the models: schema, status subresource,
printer columns, names and categories.

Builds a plain dict only; writing it to `crds/` is `canary.api.crdgen`'s job.
"""

from __future__ import annotations

from typing import Any

from canary.api import group
from canary.api.resource import Canary
from canary.api.schema import Schema, structural_schema, unwrap
from canary.api.spec import CanarySpec
from canary.api.status import CanaryStatus

PRINTER_COLUMNS: tuple[dict[str, Any], ...] = (
    {"name": "Phase", "type": "string", "jsonPath": ".status.phase",
     "description": "Pending, Progressing, Paused, Promoting, Succeeded, RollingBack, "
     "RolledBack or Failed."},
    {"name": "Weight", "type": "integer", "jsonPath": ".status.routeWeight",
     "description": "The canary weight the route carries, in percent (as observed)."},
    {"name": "Step", "type": "integer", "jsonPath": ".status.currentStep",
     "description": "Current step (1-based; 0 before the first step)."},
    {"name": "Steps", "type": "integer", "jsonPath": ".status.totalSteps", "priority": 1,
     "description": "Number of steps."},
    {"name": "Revision", "type": "string", "jsonPath": ".status.revision", "priority": 1,
     "description": "The revision being rolled out."},
    {"name": "Last Check", "type": "date", "jsonPath": ".status.lastCheckTime",
     "description": "When the metrics were last checked."},
    {"name": "Message", "type": "string", "jsonPath": ".status.message", "priority": 1,
     "description": "What is happening."},
    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
)


def canary_schema() -> Schema:
    """The `openAPIV3Schema` of the Canary."""
    return {
        "type": "object",
        "description": unwrap(Canary.__doc__ or ""),
        "required": ["spec"],
        "properties": {
            "apiVersion": {"type": "string", "description": "APIVersion of this object."},
            "kind": {"type": "string", "description": "Kind of this object: Canary."},
            "metadata": {"type": "object"},
            "spec": structural_schema(CanarySpec),
            "status": structural_schema(CanaryStatus, keep_defaults=False),
        },
    }


def canary_crd() -> dict[str, Any]:
    """The whole CustomResourceDefinition manifest."""
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": group.CRD_NAME,
            "labels": {"app.kubernetes.io/part-of": "canary-operator"},
        },
        "spec": {
            "group": group.GROUP,
            "names": {
                "kind": group.KIND,
                "listKind": group.LIST_KIND,
                "plural": group.PLURAL,
                "singular": group.SINGULAR,
                "shortNames": list(group.SHORT_NAMES),
                "categories": list(group.CATEGORIES),
            },
            "scope": "Namespaced",
            "versions": [
                {
                    "name": group.VERSION,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": [dict(c) for c in PRINTER_COLUMNS],
                    "schema": {"openAPIV3Schema": canary_schema()},
                }
            ],
        },
    }
