"""Turn pydantic's JSON schema of an API model into a structural OpenAPI v3 schema that a
kube-apiserver accepts: `$ref`s inlined, optional fields instead of `null` unions, `type` on
every node, object defaults so nested defaults apply, and no keywords Kubernetes rejects.

A pure transformation of dicts; it fails loudly on schema shapes it does not know.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel

Schema = dict[str, Any]

_DROPPED = frozenset({"title", "examples"})
_NULL = {"type": "null"}


class SchemaError(ValueError):
    """A model uses a schema shape that has no structural Kubernetes equivalent."""


def structural_schema(model: type[BaseModel], *, keep_defaults: bool = True) -> Schema:
    """The structural schema of `model` (by alias). `keep_defaults=False` drops every `default`
    (for `status`, which only the operator writes)."""
    raw = model.model_json_schema(by_alias=True, mode="validation")
    defs: dict[str, Schema] = raw.pop("$defs", {})
    return _Converter(defs, keep_defaults=keep_defaults).convert(raw)


def unwrap(text: str) -> str:
    """Join docstring line breaks into spaces, keeping blank-line paragraph breaks."""
    paragraphs = re.split(r"\n\s*\n", text.strip())
    return "\n\n".join(" ".join(line.strip() for line in p.splitlines()) for p in paragraphs)


_KEY_ORDER = (
    "type", "format", "description", "default", "enum", "minimum", "maximum", "minLength",
    "maxLength", "pattern", "minItems", "maxItems", "x-kubernetes-list-type",
    "x-kubernetes-list-map-keys", "items", "required", "properties", "x-kubernetes-validations",
)


def _ordered(node: Schema) -> Schema:
    """Keys in a fixed, reader-friendly order (type and description first)."""
    rank = {key: index for index, key in enumerate(_KEY_ORDER)}
    return dict(sorted(node.items(), key=lambda item: (rank.get(item[0], len(rank)), item[0])))


class _Converter:
    def __init__(self, defs: dict[str, Schema], *, keep_defaults: bool) -> None:
        self._defs = defs
        self._keep_defaults = keep_defaults

    def convert(self, node: Schema) -> Schema:
        node = self._resolve(node)
        out: Schema = {}
        for key, value in node.items():
            if key in _DROPPED:
                continue
            if key == "properties":
                out[key] = self._properties(value, set(node.get("required", ())))
            elif key == "items":
                out[key] = self.convert(value)
            elif key == "const":
                out["enum"] = [value]
            elif key == "description":
                out[key] = unwrap(value)
            elif key == "default":
                if value is not None and self._keep_defaults:
                    out[key] = value
            elif key in ("anyOf", "oneOf", "allOf", "$ref", "additionalProperties"):
                raise SchemaError(f"unsupported schema keyword {key!r} in {node}")
            else:
                out[key] = value
        if "type" not in out:
            raise SchemaError(f"schema node without a type: {node}")
        return _ordered(out)

    def _properties(self, properties: dict[str, Schema], required: set[str]) -> Schema:
        converted: Schema = {}
        for name, prop in properties.items():
            nullable = "anyOf" in prop and _NULL in prop["anyOf"]
            schema = self.convert(prop)
            if (
                self._keep_defaults
                and name not in required
                and not nullable
                and schema["type"] == "object"
                and "default" not in schema
                and not schema.get("required")
            ):
                # Spelled out in full: the API server checks a default against the CEL rules
                # without first applying the nested defaults.
                schema["default"] = {
                    key: child["default"]
                    for key, child in schema.get("properties", {}).items()
                    if "default" in child
                }
            converted[name] = schema
        return converted

    def _resolve(self, node: Schema) -> Schema:
        """Inline `$ref`, single-entry `allOf`, and `anyOf [X, null]`; siblings win."""
        for _ in range(16):
            if "$ref" in node:
                target = self._defs[node["$ref"].rsplit("/", 1)[-1]]
                siblings = {k: v for k, v in node.items() if k != "$ref"}
                node = {**target, **siblings}
            elif "allOf" in node and len(node["allOf"]) == 1:
                siblings = {k: v for k, v in node.items() if k != "allOf"}
                node = {**node["allOf"][0], **siblings}
            elif "anyOf" in node:
                options = [o for o in node["anyOf"] if o != _NULL]
                if len(options) != 1:
                    raise SchemaError(f"a union other than `X | None` cannot be structural: {node}")
                siblings = {k: v for k, v in node.items() if k != "anyOf"}
                node = {**options[0], **siblings}
            else:
                return node
        raise SchemaError(f"$ref nesting too deep at {node}")
