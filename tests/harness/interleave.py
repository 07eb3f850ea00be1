"""A `RouteApi` over the real API that lets a test act between the router's read and its write.

The wrapper forwards every call to a real `Kube`; it only adds a hook before each patch (where a
"concurrent user" edits or deletes the route) and a record of how each patch ended.
"""

from __future__ import annotations

import builtins
from collections.abc import Awaitable, Callable
from typing import Any

from canary.kube.client import Kube
from canary.kube.errors import KubeError
from canary.kube.resources import JsonObj, Resource


class Interleaved:
    """A `RouteApi` that runs `before_patch(n)` ahead of the n-th patch and records outcomes."""

    def __init__(self, kube: Kube, before_patch: Callable[[int], Awaitable[None]] | None = None):
        self._kube = kube
        self._before = before_patch
        self.patches: list[tuple[Any, str]] = []  # (body, "ok" or the error type's name)

    async def get_or_none(
        self, res: Resource, name: str, namespace: str | None = None
    ) -> JsonObj | None:
        return await self._kube.get_or_none(res, name, namespace)

    async def list(
        self, res: Resource, namespace: str | None = None, *, label_selector: str | None = None
    ) -> tuple[builtins.list[JsonObj], str]:
        return await self._kube.list(res, namespace, label_selector=label_selector)

    async def patch(self, res: Resource, name: str, body: object, **options: Any) -> JsonObj:
        """`Kube.patch` with the same options (namespace, patch_type), after the hook."""
        if self._before is not None:
            await self._before(len(self.patches) + 1)
        try:
            result = await self._kube.patch(res, name, body, **options)
        except KubeError as exc:
            self.patches.append((body, type(exc).__name__))
            raise
        self.patches.append((body, "ok"))
        return result

    @property
    def outcomes(self) -> builtins.list[str]:
        return [outcome for _, outcome in self.patches]
