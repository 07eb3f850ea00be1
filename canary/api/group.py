"""The identity of the Canary custom resource: API group, version, kind and names.

Everything that must agree on these (the CRD generator, the operator's watches, the CLI) reads
them from here; nothing here knows about the schema.
"""

from __future__ import annotations

from typing import Final

GROUP: Final = "rollouts.canary-operator.io"
VERSION: Final = "v1alpha1"
# Spelled out (not GROUP/VERSION) so type checkers see a Literal; a unit test checks it.
API_VERSION: Final = "rollouts.canary-operator.io/v1alpha1"
KIND: Final = "Canary"
LIST_KIND: Final = "CanaryList"
PLURAL: Final = "canaries"
SINGULAR: Final = "canary"
SHORT_NAMES = ("cny",)
CATEGORIES = ("canary-operator",)
CRD_NAME: Final = f"{PLURAL}.{GROUP}"
