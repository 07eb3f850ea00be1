"""Read Canaries from a YAML file for `check -f`: every Canary document, validated with the API
model, with validation errors, queries that can never be rendered and unknown (silently dropped)
fields turned into findings.

Pure apart from reading the text given; nothing here talks to the cluster.
"""

from __future__ import annotations

import difflib
import types
import typing
from dataclasses import dataclass
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from canary.api.comparison import ComparisonTemplate
from canary.api.resource import Canary
from canary.api.spec import CanarySpec
from canary.api.templates import BuiltinTemplate
from canary.cli.findings import Finding, Severity, query_findings
from canary.providers.queries import unrenderable_queries

REFERENCE = "see docs/reference/canary.md"


@dataclass(frozen=True)
class Manifest:
    title: str
    """`namespace/name` as written (`-` when unknown)."""
    source: str
    canary: Canary | None
    findings: tuple[Finding, ...]


def field_path(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def _closest_first(wrong: str, names: list[str]) -> list[str]:
    """`names`, the ones most like `wrong` (a misspelling) first."""
    close = difflib.get_close_matches(wrong, names, n=len(names), cutoff=0.6)
    return close + [n for n in names if n not in close]


def validation_findings(exc: ValidationError) -> list[Finding]:
    found = []
    for error in exc.errors():
        path = field_path(error["loc"])
        message = str(error["msg"]).removeprefix("Value error, ")
        if error["type"] == "enum" and error["loc"][-1:] == ("template",):
            compared = "compare" in error["loc"]
            names: list[str] = list(ComparisonTemplate if compared else BuiltinTemplate)
            known = ", ".join(_closest_first(str(error.get("input")), names))
            what = "comparison template" if compared else "metric template"
            inline = "inline queries" if compared else "an inline query"
            found.append(
                Finding(
                    Severity.BLOCKER,
                    path,
                    f"unknown {what} {error.get('input')!r}",
                    f"use one of {known}, or {inline} ({REFERENCE})",
                )
            )
        else:
            found.append(Finding(Severity.BLOCKER, path or "canary", message, REFERENCE))
    return found


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    containers = (typing.Union, types.UnionType, tuple, list, typing.Annotated)
    if typing.get_origin(annotation) in containers:
        return [m for arg in typing.get_args(annotation) for m in _models_in(arg)]
    return []


def unknown_fields(model: type[BaseModel], data: Any, path: str) -> list[str]:
    """Paths of keys the model does not know; the API server would drop them silently."""
    if not isinstance(data, dict):
        return []
    fields = {info.alias or name: info.annotation for name, info in model.model_fields.items()}
    found = []
    for key, value in data.items():
        if key not in fields:
            found.append(f"{path}.{key}")
            continue
        for sub in _models_in(fields[key]):
            items = value if isinstance(value, list) else [value]
            for i, item in enumerate(items):
                where = f"{path}.{key}[{i}]" if isinstance(value, list) else f"{path}.{key}"
                found += unknown_fields(sub, item, where)
    return found


def _manifest(doc: dict[str, Any], source: str, namespace: str) -> Manifest:
    meta = dict(doc.get("metadata") or {})
    meta.setdefault("namespace", namespace)
    title = f"{meta['namespace']}/{meta.get('name', '-')}"
    spec = doc.get("spec")
    warnings = [
        Finding(
            Severity.WARNING,
            path,
            "unknown field: the API server drops it",
            f"check its spelling ({REFERENCE})",
        )
        for path in unknown_fields(CanarySpec, spec, "spec")
    ]
    try:
        canary = Canary.model_validate({**doc, "metadata": meta})
    except ValidationError as exc:
        return Manifest(title, source, None, (*validation_findings(exc), *warnings))
    return Manifest(title, source, canary, (*rendering_findings(canary), *warnings))


def rendering_findings(canary: Canary) -> list[Finding]:
    """The gates of `canary` whose query can never be rendered (blockers)."""
    meta = canary.metadata
    return query_findings(
        unrenderable_queries(canary.spec, namespace=meta.namespace, name=meta.name)
    )


def load_manifests(text: str, source: str, namespace: str) -> list[Manifest]:
    """Every Canary in a (multi-document) YAML text; `namespace` where none is set."""
    try:
        docs = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as exc:
        return [Manifest("-", source, None, (Finding(Severity.BLOCKER, "yaml", str(exc)),))]
    canaries = [
        (i, d) for i, d in enumerate(docs, 1) if isinstance(d, dict) and d.get("kind") == "Canary"
    ]
    if not canaries:
        return [
            Manifest(
                "-",
                source,
                None,
                (
                    Finding(
                        Severity.BLOCKER,
                        "file",
                        "no Canary in it (kind: Canary)",
                        "apiVersion: rollouts.canary-operator.io/v1alpha1, kind: Canary",
                    ),
                ),
            )
        ]
    return [
        _manifest(doc, f"{source} (document {i})" if len(docs) > 1 else source, namespace)
        for i, doc in canaries
    ]
