"""The test harness is real: a kube-apiserver + etcd that store, watch, validate and patch."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest
import yaml

from canary.kube.client import Kube
from canary.kube.errors import Invalid, NotFound
from canary.kube.resources import HTTPROUTE, Resource
from canary.sandbox.controlplane.launcher import ControlPlane, ExistingCluster

pytestmark = pytest.mark.integration

WIDGET = Resource("harness.canary-operator.io", "v1", "widgets", "Widget")
WIDGET_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.harness.canary-operator.io"},
    "spec": {
        "group": "harness.canary-operator.io",
        "scope": "Namespaced",
        "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
        "versions": [{
            "name": "v1", "served": True, "storage": True,
            "subresources": {"status": {}},
            "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                "spec": {"type": "object", "properties": {"size": {"type": "integer"}}},
                "status": {"type": "object", "properties": {"phase": {"type": "string"}}},
            }}},
        }],
    },
}


@pytest.fixture(scope="module")
def widget_crd(control_plane: ControlPlane | ExistingCluster) -> None:
    control_plane.kubectl("apply", "--server-side", "-f", "-", input_text=json.dumps(WIDGET_CRD))
    control_plane.kubectl("wait", "--for=condition=Established", "--timeout=60s",
                          "crd/widgets.harness.canary-operator.io")


@pytest.fixture
async def kube(control_plane: ControlPlane | ExistingCluster) -> Kube:
    return await Kube.connect(kubeconfig=control_plane.kubeconfig, field_manager="harness-test")


def test_api_server_reports_the_pinned_version(control_plane: ControlPlane) -> None:
    version = json.loads(control_plane.kubectl("version", "-o", "json"))
    assert version["serverVersion"]["gitVersion"] == "v1.36.3"


def test_openapi_v2_is_well_formed_json(control_plane: ControlPlane) -> None:
    document = json.loads(control_plane.kubectl("get", "--raw", "/openapi/v2"))
    assert document["swagger"] == "2.0"
    assert "io.k8s.api.core.v1.Pod" in document["definitions"]


def test_gateway_api_crds_are_installed(control_plane: ControlPlane) -> None:
    names = control_plane.kubectl("get", "crd", "-o", "name").split()
    for kind in ("gatewayclasses", "gateways", "httproutes", "grpcroutes", "referencegrants"):
        assert f"customresourcedefinition.apiextensions.k8s.io/{kind}.gateway.networking.k8s.io" \
            in names


@pytest.mark.usefixtures("widget_crd")
async def test_custom_object_create_read_watch_and_patch_status(kube: Kube, namespace: str) -> None:
    async with kube:
        created = await kube.create(WIDGET, {
            "apiVersion": WIDGET.api_version, "kind": "Widget",
            "metadata": {"name": "w1"}, "spec": {"size": 1},
        }, namespace)
        start_rv = created["metadata"]["resourceVersion"]
        seen: list[tuple[str, dict[str, object]]] = []

        async def watch_two_events() -> None:
            async for kind, obj in kube.watch(WIDGET, namespace, resource_version=start_rv):
                if kind != "BOOKMARK":
                    seen.append((kind, obj))
                if len(seen) == 2:
                    return

        watcher = asyncio.create_task(watch_two_events())
        await kube.patch(WIDGET, "w1", {"spec": {"size": 2}}, namespace=namespace)
        # The status subresource ignores spec changes and the main resource ignores status.
        await kube.patch(WIDGET, "w1", {"status": {"phase": "Ready"}, "spec": {"size": 99}},
                         namespace=namespace, subresource="status")
        await asyncio.wait_for(watcher, timeout=30)

        read = await kube.get(WIDGET, "w1", namespace)
        assert read["spec"] == {"size": 2}
        assert read["status"] == {"phase": "Ready"}
        assert [kind for kind, _ in seen] == ["MODIFIED", "MODIFIED"]
        assert seen[0][1]["spec"] == {"size": 2}
        assert seen[1][1]["status"] == {"phase": "Ready"}

        listed, list_rv = await kube.list(WIDGET, namespace)
        assert [item["metadata"]["name"] for item in listed] == ["w1"]
        assert list_rv
        await kube.delete(WIDGET, "w1", namespace)
        with pytest.raises(NotFound):
            await kube.get(WIDGET, "w1", namespace)


def _route(namespace: str, weight: int) -> dict[str, object]:
    return {
        "apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
        "metadata": {"name": f"r-{uuid.uuid4().hex[:6]}", "namespace": namespace},
        "spec": {
            "parentRefs": [{"name": "gw"}],
            "rules": [{"backendRefs": [
                {"name": "api-svc-v1", "port": 8080, "weight": 100},
                {"name": "api-svc-v2", "port": 8080, "weight": weight},
            ]}],
        },
    }


def test_kubectl_apply_of_an_invalid_httproute_is_rejected_by_gateway_api_validation(
    control_plane: ControlPlane, namespace: str,
) -> None:
    control_plane.kubectl("apply", "-f", "-", input_text=yaml.safe_dump(_route(namespace, 0)))
    with pytest.raises(RuntimeError) as rejected:
        control_plane.kubectl("apply", "-f", "-", input_text=yaml.safe_dump(_route(namespace, -1)))
    message = str(rejected.value)
    assert "spec.rules[0].backendRefs[1].weight" in message
    assert "should be greater than or equal to 0" in message


async def test_invalid_httproute_weight_is_an_invalid_error_from_our_client(
    kube: Kube, namespace: str,
) -> None:
    async with kube:
        with pytest.raises(Invalid) as rejected:
            await kube.create(HTTPROUTE, _route(namespace, -1), namespace)
        assert rejected.value.status == 422
        assert "greater than or equal to 0" in str(rejected.value)
