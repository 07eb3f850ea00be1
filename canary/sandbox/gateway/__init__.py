"""The sandbox's data plane: a small Gateway API controller that programs a real Envoy.

It stands in for Envoy Gateway, Istio or another implementation on a bare API server (no
kubelet, no pods). Only the sandbox, the demo and the tests use it; the operator never does.
"""

from canary.sandbox.gateway.controller import CONTROLLER_NAME, GatewayController, sandbox_gateway
from canary.sandbox.gateway.endpoints import register_backend
from canary.sandbox.gateway.envoy import Envoy, EnvoyError, EnvoyRejected
from canary.sandbox.gateway.translate import EnvoyConfig, translate

__all__ = [
    "CONTROLLER_NAME",
    "Envoy",
    "EnvoyConfig",
    "EnvoyError",
    "EnvoyRejected",
    "GatewayController",
    "register_backend",
    "sandbox_gateway",
    "translate",
]
