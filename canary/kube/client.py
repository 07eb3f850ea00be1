"""An async JSON client for any Kubernetes resource, on top of kubernetes_asyncio's transport.

We use kubernetes_asyncio for configuration, authentication and the HTTP session, but speak
plain JSON dicts: the operator handles CRDs and Gateway API kinds the generated models don't
know. Every failure leaves this module as a `canary.kube.errors.KubeError`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from typing import Any, Literal

import aiohttp
from kubernetes_asyncio import client as k8s
from kubernetes_asyncio import config as k8s_config
from kubernetes_asyncio.client.exceptions import ApiException

from canary.kube.errors import KubeError, Unavailable, error_for
from canary.kube.resources import JsonObj, Resource

PatchType = Literal["json", "merge", "apply"]
_CONTENT_TYPES: dict[str, str] = {
    "json": "application/json-patch+json",
    "merge": "application/merge-patch+json",
    "apply": "application/apply-patch+yaml",
}
WatchEvent = tuple[str, JsonObj]


class Kube:
    """One connection to one API server. Use `await Kube.connect(...)` and `close()` it."""

    def __init__(self, api: k8s.ApiClient, *, field_manager: str = "canary-operator") -> None:
        self._api = api
        self.field_manager = field_manager
        self.on_error: Callable[[str, int], None] | None = None
        """Told (verb, HTTP status; 0 if the server was not reached) of every failed request."""

    @classmethod
    async def connect(
        cls,
        *,
        kubeconfig: str | Path | None = None,
        context: str | None = None,
        field_manager: str = "canary-operator",
        impersonate: str | None = None,
        token: str | None = None,
    ) -> Kube:
        """From a kubeconfig (or `$KUBECONFIG`/`~/.kube/config`), else the in-cluster config."""
        configuration = k8s.Configuration()
        try:
            await k8s_config.load_kube_config(
                config_file=str(kubeconfig) if kubeconfig else None,
                context=context,
                client_configuration=configuration,
            )
        except (k8s_config.ConfigException, FileNotFoundError, TypeError):
            if kubeconfig:
                raise
            k8s_config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
        if token is not None:
            configuration.cert_file = configuration.key_file = None
            configuration.api_key = {"BearerToken": f"Bearer {token}"}
        api = k8s.ApiClient(configuration)
        if impersonate:
            api.set_default_header("Impersonate-User", impersonate)
        return cls(api, field_manager=field_manager)

    async def close(self) -> None:
        await self._api.close()

    async def __aenter__(self) -> Kube:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def _call(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, str | int | bool] | None = None,
        body: Any = None,
        content_type: str = "application/json",
        request_timeout: float | None = 30,
    ) -> Any:
        params = [
            (k, str(v).lower() if isinstance(v, bool) else str(v)) for k, v in (query or {}).items()
        ]
        try:
            response = await self._api.call_api(
                path,
                method,
                query_params=params,
                body=body,
                header_params={"Content-Type": content_type, "Accept": "application/json"},
                auth_settings=["BearerToken"],
                _preload_content=False,
                _request_timeout=request_timeout,
            )
            async with response:
                text = await response.text()
                status: int = response.status
        except ApiException as exc:
            raise self._failed(method, error_for(exc.status or 0, str(exc.reason))) from exc
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise self._failed(method, Unavailable(f"{method} {path}: {exc!r}")) from exc
        if not 200 <= status <= 299:
            raise self._failed(method, _status_error(status, text, f"{method} {path}"))
        return json.loads(text) if text else None

    def _failed(self, verb: str, error: KubeError) -> KubeError:
        if self.on_error is not None:
            self.on_error(verb, error.status)
        return error

    async def get(self, res: Resource, name: str, namespace: str | None = None) -> JsonObj:
        result: JsonObj = await self._call("GET", res.path(namespace, name))
        return result

    async def get_or_none(
        self, res: Resource, name: str, namespace: str | None = None
    ) -> JsonObj | None:
        try:
            return await self.get(res, name, namespace)
        except KubeError as exc:
            if exc.status == 404:
                return None
            raise

    async def list(
        self, res: Resource, namespace: str | None = None, *, label_selector: str | None = None
    ) -> tuple[list[JsonObj], str]:
        """All objects (following `continue` pages) and the list's resourceVersion."""
        items: list[JsonObj] = []
        query: dict[str, str | int | bool] = {"limit": 500}
        if label_selector:
            query["labelSelector"] = label_selector
        while True:
            page: JsonObj = await self._call("GET", res.path(namespace), query=query)
            for item in page.get("items", []):
                item.setdefault("apiVersion", res.api_version)
                item.setdefault("kind", res.kind)
                items.append(item)
            token = page.get("metadata", {}).get("continue")
            if not token:
                return items, str(page.get("metadata", {}).get("resourceVersion", ""))
            query["continue"] = token

    async def watch(
        self,
        res: Resource,
        namespace: str | None = None,
        *,
        resource_version: str,
        label_selector: str | None = None,
        timeout_seconds: int = 300,
    ) -> AsyncIterator[WatchEvent]:
        """Stream (type, object) events; raises `Gone` when the resourceVersion expired."""
        query: dict[str, str | int | bool] = {
            "watch": True,
            "resourceVersion": resource_version,
            "allowWatchBookmarks": True,
            "timeoutSeconds": timeout_seconds,
        }
        if label_selector:
            query["labelSelector"] = label_selector
        params = [(k, str(v).lower() if isinstance(v, bool) else str(v)) for k, v in query.items()]
        try:
            response = await self._api.call_api(
                res.path(namespace),
                "GET",
                query_params=params,
                header_params={"Accept": "application/json"},
                auth_settings=["BearerToken"],
                _preload_content=False,
                _request_timeout=aiohttp.ClientTimeout(
                    total=None, sock_connect=10, sock_read=timeout_seconds + 30
                ),
            )
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise self._failed("WATCH", Unavailable(f"watch {res.plural}: {exc!r}")) from exc
        async with response:
            if response.status != 200:
                text = await response.text()
                raise self._failed(
                    "WATCH", _status_error(response.status, text, f"watch {res.plural}")
                )
            try:
                async for line in response.content:
                    if not line.strip():
                        continue
                    event = json.loads(line)
                    kind, obj = event.get("type", ""), event.get("object", {})
                    if kind == "ERROR":
                        code, body = int(obj.get("code", 500)), json.dumps(obj)
                        raise self._failed(
                            "WATCH", _status_error(code, body, f"watch {res.plural}")
                        )
                    yield kind, obj
            except (aiohttp.ClientError, TimeoutError, asyncio.IncompleteReadError) as exc:
                dropped = Unavailable(f"watch {res.plural} dropped: {exc!r}")
                raise self._failed("WATCH", dropped) from exc

    async def create(self, res: Resource, body: JsonObj, namespace: str | None = None) -> JsonObj:
        result: JsonObj = await self._call("POST", res.path(namespace), body=body)
        return result

    async def patch(
        self,
        res: Resource,
        name: str,
        body: Any,
        *,
        namespace: str | None = None,
        patch_type: PatchType = "merge",
        subresource: str | None = None,
        force: bool = False,
    ) -> JsonObj:
        """PATCH with an explicit content type (never the client's JSON-patch guess)."""
        query: dict[str, str | int | bool] = {"fieldManager": self.field_manager}
        if patch_type == "apply" and force:
            query["force"] = True
        result: JsonObj = await self._call(
            "PATCH",
            res.path(namespace, name, subresource),
            query=query,
            body=body,
            content_type=_CONTENT_TYPES[patch_type],
        )
        return result

    async def replace(
        self,
        res: Resource,
        name: str,
        body: JsonObj,
        *,
        namespace: str | None = None,
        subresource: str | None = None,
    ) -> JsonObj:
        result: JsonObj = await self._call(
            "PUT",
            res.path(namespace, name, subresource),
            body=body,
            query={"fieldManager": self.field_manager},
        )
        return result

    async def delete(self, res: Resource, name: str, namespace: str | None = None) -> None:
        await self._call("DELETE", res.path(namespace, name))


def _status_error(status: int, text: str, what: str) -> KubeError:
    """Build our error from a Kubernetes `Status` body (message and reason when present)."""
    message, reason = text[:2000], ""
    try:
        body = json.loads(text)
        message = str(body.get("message", message))
        reason = str(body.get("reason", ""))
    except (ValueError, AttributeError):
        pass
    return error_for(status, f"{what}: {message}", reason)
