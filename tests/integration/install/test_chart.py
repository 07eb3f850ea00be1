"""The Helm chart, rendered and linted by the real helm and dry-run applied (server side) on the
real API server, with default and non-default values; values that cannot work are refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from harness.install import CHART, as_yaml, container_args, helm, one, pick, render, set_args

from canary.sandbox.controlplane import build
from canary.sandbox.controlplane.launcher import ControlPlane, ExistingCluster

pytestmark = pytest.mark.integration



def non_default(watched: list[str]) -> dict[str, Any]:
    """Every knob away from its default, the way a sharded, locked-down install would set it."""
    return {
        "replicaCount": 3,
        "image.repository": "registry.example.com/platform/canary-operator",
        "image.digest": "sha256:" + "ab" * 32,
        "imagePullSecrets": [{"name": "registry-credentials"}],
        "serviceAccount.annotations": {"example.com/owner": "platform"},
        "rbac.readSecrets": False,
        "workloads.enabled": True,
        "watch.namespaces": watched,
        "watch.labelSelector": "shard in (a,b),tier!=experimental",
        "operator.prometheusAddress": "https://prometheus.monitoring.svc:9091",
        "operator.workers": 8,
        "operator.resyncSeconds": 120.5,
        "operator.logLevel": "debug",
        "operator.extraEnv": [{"name": "TZ", "value": "UTC"}],
        "leaderElection.leaseName": "canary-shard-a",
        "leaderElection.leaseDuration": 30,
        "leaderElection.renewDeadline": 20,
        "leaderElection.retryPeriod": 4,
        "metrics.port": 9100,
        "metrics.service.port": 9100,
        "metrics.serviceMonitor.enabled": True,
        "metrics.serviceMonitor.labels": {"release": "kube-prometheus"},
        "health.port": 9101,
        "podDisruptionBudget.minAvailable": "50%",
        "networkPolicy.enabled": True,
        "networkPolicy.metricsFrom": [
            {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}
        ],
        "networkPolicy.apiServer": [{"ipBlock": {"cidr": "10.0.0.1/32"}}],
        "networkPolicy.prometheusPorts": [9091],
        "podLabels": {"team": "platform"},
        "nodeSelector": {"kubernetes.io/os": "linux"},
        "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "platform",
                         "effect": "NoSchedule"}],
        "topologySpreadConstraints": [],
        "resources": {"requests": {"cpu": "100m", "memory": "192Mi"},
                      "limits": {"memory": "384Mi"}},
    }


@pytest.fixture(scope="session")
def servicemonitor_crd(control_plane: ControlPlane | ExistingCluster) -> None:
    """The Prometheus Operator's real ServiceMonitor CRD, so its dry run validates our fields."""
    control_plane.apply([build.servicemonitor_crd()])
    control_plane.kubectl("wait", "--for=condition=Established", "--timeout=60s",
                          "crd/servicemonitors.monitoring.coreos.com")


@pytest.fixture
def home(helm_home: Path) -> Path:
    return helm_home


def dry_run(control_plane: ControlPlane | ExistingCluster, docs: list[dict[str, Any]]) -> str:
    return control_plane.kubectl(
        "apply", "--server-side", "--dry-run=server", "--force-conflicts",
        "--field-manager=chart-test", "-f", "-", input_text=as_yaml(docs),
    )


@pytest.mark.parametrize("variant", ["default", "non-default"])
def test_chart_lints_cleanly(variant: str, home: Path) -> None:
    values = {} if variant == "default" else non_default(["shop", "payments"])
    proc = helm("lint", "--strict", str(CHART), *set_args(values), home=home)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 chart(s) failed" in proc.stdout


def test_default_render_is_a_hardened_two_replica_deployment_with_leader_election(
    home: Path,
) -> None:
    docs = render("canary-operator", "ops", {}, home=home)
    assert sorted(d["kind"] for d in docs) == sorted([
        "ServiceAccount", "ClusterRole", "ClusterRole", "ClusterRoleBinding",
        "ClusterRoleBinding", "Role", "RoleBinding", "Deployment", "Service",
        "PodDisruptionBudget",
    ])
    deployment = one(docs, "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    [container] = pod["containers"]
    assert deployment["spec"]["replicas"] == 2
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    security = container["securityContext"]
    assert security["allowPrivilegeEscalation"] is False
    assert security["readOnlyRootFilesystem"] is True
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert security["seccompProfile"] == {"type": "RuntimeDefault"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "health"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "health"}
    assert {"requests", "limits"} <= container["resources"].keys()
    args = container_args(docs)
    assert "--leader-elect" in args
    assert "--lease-namespace=ops" in args and "--lease-name=canary-operator" in args
    assert not any(a.startswith(("--namespace", "--selector")) for a in args)
    assert one(docs, "ClusterRoleBinding", "canary-operator")["roleRef"]["name"] == (
        "canary-operator"
    )
    assert pick(docs, "ServiceMonitor") == pick(docs, "NetworkPolicy") == []


def test_namespaced_install_binds_canary_permissions_only_in_the_watched_namespaces(
    home: Path,
) -> None:
    docs = render("canary-operator", "ops", {"watch.namespaces": ["shop", "payments"]}, home=home)
    bindings = pick(docs, "RoleBinding", "canary-operator")
    assert sorted(b["metadata"]["namespace"] for b in bindings) == ["payments", "shop"]
    assert all(b["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io",
                                "kind": "ClusterRole", "name": "canary-operator"}
               for b in bindings)
    assert [b["metadata"]["name"] for b in pick(docs, "ClusterRoleBinding")] == [
        "canary-operator-cluster"
    ], "only the cluster-scoped reads may be bound cluster-wide"
    cluster_rules = one(docs, "ClusterRole", "canary-operator-cluster")["rules"]
    assert {r for rule in cluster_rules for r in rule["resources"]} == {
        "gatewayclasses", "ingresses"
    }
    args = container_args(docs)
    assert "--namespace=shop" in args and "--namespace=payments" in args


def grants(docs: list[dict[str, Any]]) -> set[tuple[str, str, str]]:
    """(apiGroup, resource, verb) of every rule of the rendered Roles and ClusterRoles."""
    return {
        (group, resource, verb)
        for role in pick(docs, "ClusterRole") + pick(docs, "Role")
        for rule in role["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }


def test_no_rule_grants_a_write_the_operator_does_not_make(home: Path) -> None:
    docs = render("canary-operator", "ops", {}, home=home)
    writes = {grant for grant in grants(docs) if grant[2] not in ("get", "list", "watch")}
    assert writes == {
        ("rollouts.canary-operator.io", "canaries", "patch"),
        ("rollouts.canary-operator.io", "canaries/status", "patch"),
        ("gateway.networking.k8s.io", "httproutes", "patch"),
        ("gateway.networking.k8s.io", "grpcroutes", "patch"),
        ("events.k8s.io", "events", "create"),
        ("coordination.k8s.io", "leases", "create"),
        ("coordination.k8s.io", "leases", "update"),
    }
    reads_everywhere = [rule for role in pick(docs, "ClusterRole") for rule in role["rules"]
                        if "*" in rule["verbs"] or "*" in rule["resources"]]
    assert reads_everywhere == []


def test_workload_mode_grants_only_the_writes_it_makes_and_passes_the_flag(home: Path) -> None:
    default = render("canary-operator", "ops", {}, home=home)
    enabled = render("canary-operator", "ops", {"workloads.enabled": True}, home=home)
    assert "--workloads" not in container_args(default)
    assert "--workloads" in container_args(enabled)
    assert grants(enabled) - grants(default) == {
        *(("apps", "deployments", v) for v in ("get", "list", "watch", "create", "patch")),
        ("", "services", "create"),
        ("", "services", "patch"),
        *(("autoscaling", "horizontalpodautoscalers", v)
          for v in ("get", "list", "watch", "create", "patch")),
    }
    assert grants(default) <= grants(enabled)


@pytest.mark.parametrize(
    ("values", "complaint"),
    [
        ({"watch.namespace": ["shop"]}, "additional properties 'namespace' not allowed"),
        ({"replicaCount": 0}, "minimum"),
        ({"workloads.enable": True}, "additional properties 'enable' not allowed"),
        ({"operator.logFormat": "xml"}, "logFormat"),
        ({"leaderElection.renewDeadline": 15}, "retryPeriod < renewDeadline < leaseDuration"),
        ({"leaderElection.enabled": False}, "replicaCount > 1 needs leaderElection.enabled"),
        ({"metrics.service.enabled": False, "metrics.serviceMonitor.enabled": True},
         "needs metrics.service.enabled"),
    ],
)
def test_values_that_cannot_work_are_refused_at_render_time(
    values: dict[str, Any], complaint: str, home: Path
) -> None:
    proc = helm("template", "canary-operator", str(CHART), *set_args(values), home=home)
    assert proc.returncode != 0
    assert complaint in proc.stderr


def test_single_replica_gets_no_disruption_budget_that_would_block_drains(home: Path) -> None:
    docs = render("canary-operator", "ops", {"replicaCount": 1}, home=home)
    assert pick(docs, "PodDisruptionBudget") == []


@pytest.mark.usefixtures("servicemonitor_crd")
@pytest.mark.parametrize("variant", ["default", "non-default"])
def test_rendered_manifests_pass_a_server_side_dry_run(
    variant: str, home: Path, control_plane: ControlPlane | ExistingCluster,
    namespace: str, operator_namespace: str,
) -> None:
    values = {} if variant == "default" else non_default([namespace])
    docs = render("canary-operator", operator_namespace, values, home=home, include_crds=True)
    kinds = {d["kind"] for d in docs}
    assert "CustomResourceDefinition" in kinds
    if variant == "non-default":
        assert {"ServiceMonitor", "NetworkPolicy", "PodDisruptionBudget"} <= kinds
    out = dry_run(control_plane, docs)
    assert out.count("(server dry run)") == len(docs), out


def test_helm_install_and_uninstall_work_against_the_api_server(
    home: Path, control_plane: ControlPlane | ExistingCluster, operator_namespace: str,
    namespace: str,
) -> None:
    """A real `helm install` (no pods run here: there is no kubelet), its notes, and a clean
    uninstall that leaves the CRD and therefore every Canary in place."""
    kubeconfig = f"--kubeconfig={control_plane.kubeconfig}"
    release = f"install-{operator_namespace[-6:]}"
    values = set_args({"watch.namespaces": [namespace], "watch.labelSelector": "shard=a"})
    proc = helm("install", release, str(CHART), "-n", operator_namespace, kubeconfig, *values,
                home=home)
    assert proc.returncode == 0, proc.stderr
    assert "STATUS: deployed" in proc.stdout
    assert 'that match the label selector "shard=a"' in proc.stdout
    assert f"namespaces {namespace}" in proc.stdout
    assert "Helm does not upgrade CRDs" in proc.stdout
    deployment = control_plane.kubectl("get", "deployment", "-n", operator_namespace, "-o", "name")
    assert f"deployment.apps/{release}-canary-operator" in deployment
    proc = helm("uninstall", release, "-n", operator_namespace, kubeconfig, home=home)
    assert proc.returncode == 0, proc.stderr
    left = control_plane.kubectl(
        "get", "clusterrole", "-l", f"app.kubernetes.io/instance={release}", "-o", "name"
    )
    assert left.strip() == ""
    control_plane.kubectl("get", "crd", "canaries.rollouts.canary-operator.io")
