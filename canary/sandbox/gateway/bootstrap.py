"""The Envoy JSON this sandbox writes to disk: bootstrap, listeners, discovery responses.

Pure builders. Listeners and clusters come from files (`path_config_source` with a watched
directory), and each listener reads its routes from its own file (RDS), so a weight change
reaches keep-alive clients at once instead of after a listener drain.
"""

from __future__ import annotations

from pathlib import Path

from canary.sandbox.gateway.routes import INVALID_BACKEND_CLUSTER
from canary.sandbox.gateway.world import JsonObj
from canary.sandbox.processes import LOOPBACK

LISTENER_TYPE = "type.googleapis.com/envoy.config.listener.v3.Listener"
CLUSTER_TYPE = "type.googleapis.com/envoy.config.cluster.v3.Cluster"
ROUTE_TYPE = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration"
_HCM_TYPE = (
    "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3."
    "HttpConnectionManager"
)
_ROUTER = {
    "name": "envoy.filters.http.router",
    "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"},
}


def _address(port: int) -> JsonObj:
    return {"socket_address": {"address": LOOPBACK, "port_value": port}}


def file_source(path: Path) -> JsonObj:
    """A config source that reloads when a file is renamed into `path`'s directory."""
    return {
        "path_config_source": {"path": str(path), "watched_directory": {"path": str(path.parent)}},
        "resource_api_version": "V3",
    }


def _hcm(stat_prefix: str, routing: JsonObj) -> JsonObj:
    return {
        "name": "envoy.filters.network.http_connection_manager",
        "typed_config": {
            "@type": _HCM_TYPE,
            "stat_prefix": stat_prefix,
            "strip_any_host_port": True,
            "http_filters": [_ROUTER],
            **routing,
        },
    }


def listener(name: str, port: int, routes_file: Path) -> JsonObj:
    """An HTTP listener on loopback whose route table `name` is read from `routes_file`."""
    rds = {"rds": {"route_config_name": name, "config_source": file_source(routes_file)}}
    return {
        "@type": LISTENER_TYPE,
        "name": name,
        "address": _address(port),
        "filter_chains": [{"filters": [_hcm(name, rds)]}],
    }


def discovery_response(version: str, type_url: str, resources: list[JsonObj]) -> JsonObj:
    return {
        "version_info": version,
        "type_url": type_url,
        "resources": [{"@type": type_url, **r} for r in resources],
    }


def bootstrap(*, admin_port: int, lds: Path, cds: Path, error_port: int) -> JsonObj:
    """Dynamic listeners and clusters from files, plus a static 500 backend.

    Requests that Gateway API says must fail with a 500 (a share of an invalid backendRef)
    go to `INVALID_BACKEND_CLUSTER`, a static listener that answers 500 to everything.
    """
    error_routes = {
        "route_config": {
            "name": "invalid-backend",
            "virtual_hosts": [
                {
                    "name": "all",
                    "domains": ["*"],
                    "routes": [{"match": {"prefix": "/"}, "direct_response": {"status": 500}}],
                }
            ],
        }
    }
    return {
        "node": {"id": "canary-sandbox", "cluster": "canary-sandbox"},
        "admin": {"address": _address(admin_port)},
        "dynamic_resources": {"lds_config": file_source(lds), "cds_config": file_source(cds)},
        "static_resources": {
            "listeners": [
                {
                    "name": "canary-sandbox/invalid-backend",
                    "address": _address(error_port),
                    "filter_chains": [{"filters": [_hcm("invalid-backend", error_routes)]}],
                }
            ],
            "clusters": [
                {
                    "name": INVALID_BACKEND_CLUSTER,
                    "type": "STATIC",
                    "connect_timeout": "1s",
                    "load_assignment": {
                        "cluster_name": INVALID_BACKEND_CLUSTER,
                        "endpoints": [
                            {"lb_endpoints": [{"endpoint": {"address": _address(error_port)}}]}
                        ],
                    },
                }
            ],
        },
        "overload_manager": {
            "resource_monitors": [
                {
                    "name": "envoy.resource_monitors.global_downstream_max_connections",
                    "typed_config": {
                        "@type": "type.googleapis.com/envoy.extensions.resource_monitors."
                        "downstream_connections.v3.DownstreamConnectionsConfig",
                        "max_active_downstream_connections": 10000,
                    },
                }
            ]
        },
    }
