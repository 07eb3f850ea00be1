"""A tiny RFC 6902 applier, so tests can check a patch's effect (or play an API server that
applies one) without the `jsonpatch` package. It implements only what RFC 6902 says about
test/add/remove/replace."""

from __future__ import annotations

import copy
from typing import Any


class PatchTestFailed(Exception):
    """A `test` op did not hold: the server would reject the whole patch."""


def _walk(doc: Any, pointer: str) -> tuple[Any, str]:
    parts = [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]
    parent = doc
    for part in parts[:-1]:
        parent = parent[int(part)] if isinstance(parent, list) else parent[part]
    return parent, parts[-1]


def apply_patch(doc: Any, patch: list[dict[str, Any]]) -> Any:
    """Apply an RFC 6902 patch to a copy of `doc`; raise PatchTestFailed when a test fails."""
    result = copy.deepcopy(doc)
    for op in patch:
        parent, key = _walk(result, op["path"])
        if isinstance(parent, list):
            index = len(parent) if key == "-" else int(key)
            if op["op"] == "test":
                if index >= len(parent) or parent[index] != op["value"]:
                    raise PatchTestFailed(op["path"])
            elif op["op"] == "add":
                parent.insert(index, copy.deepcopy(op["value"]))
            elif op["op"] == "remove":
                del parent[index]
            elif op["op"] == "replace":
                parent[index] = copy.deepcopy(op["value"])
            else:
                raise ValueError(op)
        elif op["op"] == "test":
            if key not in parent or parent[key] != op["value"]:
                raise PatchTestFailed(op["path"])
        elif op["op"] in ("add", "replace"):
            if op["op"] == "replace" and key not in parent:
                raise KeyError(op["path"])
            parent[key] = copy.deepcopy(op["value"])
        elif op["op"] == "remove":
            del parent[key]
        else:
            raise ValueError(op)
    return result
