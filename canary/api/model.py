"""The base of every Canary API model: camelCase aliases, frozen values, docstrings as schema
descriptions, and cross-field rules declared once for both pydantic and the API server (CEL).

Models are plain values: nothing here talks to Kubernetes or reads the clock.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, model_validator
from pydantic.alias_generators import to_camel


@dataclass(frozen=True)
class Rule:
    """One cross-field rule: a CEL expression for the API server and the same check in Python.

    Both sides reject the same objects with the same message, so a Canary accepted by the API
    server always parses in the operator, and unit tests can exercise every rule without a
    cluster.
    """

    cel: str
    message: str
    check: Callable[[Any], bool]
    field_path: str | None = None

    def as_validation(self) -> dict[str, str]:
        """The `x-kubernetes-validations` entry of this rule."""
        entry = {"rule": self.cel, "message": self.message}
        if self.field_path is not None:
            entry["fieldPath"] = self.field_path
        return entry


def _add_rules(schema: dict[str, Any], cls: type[Any]) -> None:
    rules: tuple[Rule, ...] = getattr(cls, "cel_rules", ())
    if rules:
        schema["x-kubernetes-validations"] = [rule.as_validation() for rule in rules]


class ApiModel(BaseModel):
    """Base of the API models. Unknown fields are ignored so an older operator can read a newer
    object; the API server prunes them anyway."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        serialize_by_alias=True,
        frozen=True,
        extra="ignore",
        use_attribute_docstrings=True,
        json_schema_extra=_add_rules,
    )

    cel_rules: ClassVar[tuple[Rule, ...]] = ()

    @model_validator(mode="after")
    def _check_rules(self) -> Self:
        for rule in self.cel_rules:
            if not rule.check(self):
                raise ValueError(rule.message)
        return self

    def to_api(self) -> dict[str, Any]:
        """The JSON-ready dict to send to the API server: camelCase keys, unset fields left out."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)
