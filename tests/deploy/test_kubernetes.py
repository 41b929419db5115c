"""deploy/kubernetes/: valid against the Kubernetes schemas, and consistent with fleetsync itself.

The schemas are the ones kubernetes-validate bundles (no network), in strict mode: an unknown or
misspelt field is an error, as the API server's strict field validation makes it.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from fleetsync.settings import Settings
from tests.deploy.files import (
    DEPLOY,
    assert_cli_accepts,
    assert_placeholder_key_file,
    assert_placeholder_secrets,
    load_with_env,
    run_tool,
)

KUBERNETES = DEPLOY / "kubernetes"
KUSTOMIZATION = KUBERNETES / "kustomization.yaml"
SECRET_EXAMPLE = KUBERNETES / "secret.example.yaml"
MANIFESTS = sorted(path for path in KUBERNETES.glob("*.yaml") if path != KUSTOMIZATION)
#: The oldest Kubernetes these manifests are for, and the newest the bundled schemas know.
VERSIONS = ["1.30", kubernetes_validate.latest_version()]
CONFIG_FILE = "/etc/fleetsync/fleetsync.toml"

Resource = dict[str, Any]


def documents(path: Path) -> list[Resource]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def resources() -> list[Resource]:
    return [doc for path in MANIFESTS for doc in documents(path)]


def find(kind: str, name: str) -> Resource:
    (found,) = [r for r in resources() if r["kind"] == kind and r["metadata"]["name"] == name]
    return found


def deployments() -> list[Resource]:
    return [r for r in resources() if r["kind"] == "Deployment"]


def pod_containers(deployment: Resource) -> Iterator[Resource]:
    spec = deployment["spec"]["template"]["spec"]
    yield from spec.get("initContainers", [])
    yield from spec["containers"]


def deployment_ids() -> list[str]:
    return [d["metadata"]["name"] for d in deployments()]


def configured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, with_secrets: bool = True
) -> Settings:
    """The settings a pod sees: the ConfigMap's file and the example Secret's environment."""
    config = find("ConfigMap", "fleetsync-config")["data"]["fleetsync.toml"]
    env = secret_env() if with_secrets else {}
    return load_with_env(config, env, tmp_path, monkeypatch)


def secret_env() -> dict[str, str]:
    (env,) = [d for d in documents(SECRET_EXAMPLE) if d["metadata"]["name"] == "fleetsync-env"]
    data: dict[str, str] = env["stringData"]
    return data


# ------------------------------------------------------------------------------ the schemas
@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("path", MANIFESTS, ids=lambda path: path.name)
def test_manifest_is_valid(path: Path, version: str) -> None:
    docs = documents(path)
    assert docs, f"{path.name} holds no resource"
    for doc in docs:
        kubernetes_validate.validate(doc, version, strict=True)


MISTAKES = {
    "misspelt field": lambda c: c.update(readinesProbe=c.pop("readinessProbe")),
    "wrong type": lambda c: c["ports"][0].update(containerPort="8080"),
    "bad value": lambda c: c["securityContext"].update(allowPrivilegeEscalation="no"),
}


@pytest.mark.parametrize("mistake", list(MISTAKES.values()), ids=list(MISTAKES))
def test_the_validation_would_catch_a_mistake(mistake: Any) -> None:
    deployment = find("Deployment", "fleetsync-api")
    mistake(deployment["spec"]["template"]["spec"]["containers"][0])
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, VERSIONS[0], strict=True)


def test_kustomization_lists_every_manifest_but_the_example_secret() -> None:
    listed = yaml.safe_load(KUSTOMIZATION.read_text())["resources"]
    # Applying the example would overwrite the real secrets with placeholders at every apply.
    expected = sorted(path.name for path in MANIFESTS if path != SECRET_EXAMPLE)
    assert sorted(listed) == expected
    assert len(listed) == len(set(listed))


def test_kustomize_renders_valid_resources_in_one_namespace() -> None:
    rendered = run_tool("kubectl", "kustomize", str(KUBERNETES))
    assert rendered.returncode == 0, rendered.stderr
    docs = [doc for doc in yaml.safe_load_all(rendered.stdout) if doc]
    assert {(d["kind"], d["metadata"]["name"]) for d in docs} == {
        (r["kind"], r["metadata"]["name"]) for r in resources() if r["kind"] != "Secret"
    }
    for doc in docs:
        kubernetes_validate.validate(doc, VERSIONS[0], strict=True)
        if doc["kind"] != "Namespace":
            assert doc["metadata"]["namespace"] == "fleetsync"


# ------------------------------------------------------------------------- the workloads
def test_the_daemon_runs_two_replicas_that_hand_over_cleanly() -> None:
    daemon = find("Deployment", "fleetsync-daemon")
    assert daemon["spec"]["replicas"] == 2
    # Every old pod (the leader included) has stopped before a new one starts: see the manifest.
    assert daemon["spec"]["strategy"] == {"type": "Recreate"}
    # SIGTERM: the leader finishes the action in flight and writes its journal (60-90 s).
    assert daemon["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] >= 90
    (container,) = daemon["spec"]["template"]["spec"]["containers"]
    assert container["args"] == ["daemon", "--config", CONFIG_FILE]


def test_the_api_runs_serve_on_two_or_more_replicas_behind_the_service() -> None:
    api = find("Deployment", "fleetsync-api")
    assert api["spec"]["replicas"] >= 2
    assert api["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    (container,) = api["spec"]["template"]["spec"]["containers"]
    assert container["args"] == ["serve", "--config", CONFIG_FILE]
    service = find("Service", "fleetsync-api")
    selector = service["spec"]["selector"]
    labels_of = {
        d["metadata"]["name"]: d["spec"]["template"]["metadata"]["labels"] for d in deployments()
    }
    serving = [name for name, labels in labels_of.items() if selector.items() <= labels.items()]
    assert serving == ["fleetsync-api"]  # webhooks never land on the scheduler's pods
    (port,) = service["spec"]["ports"]
    assert port["targetPort"] in {p["name"] for p in container["ports"]}


@pytest.mark.parametrize("deployment", deployments(), ids=deployment_ids())
def test_every_pod_migrates_first_with_the_same_image(deployment: Resource) -> None:
    spec = deployment["spec"]["template"]["spec"]
    (init,) = spec["initContainers"]
    assert init["args"] == ["db", "upgrade", "--config", CONFIG_FILE]
    assert {c["image"] for c in pod_containers(deployment)} == {init["image"]}


@pytest.mark.parametrize("deployment", deployments(), ids=deployment_ids())
def test_probes_hit_livez_and_readyz_on_the_configured_port(
    deployment: Resource, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = configured(tmp_path, monkeypatch)
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"http": settings.api.port}
    assert settings.api.host == "0.0.0.0"  # noqa: S104 (the kubelet and the Service reach it)
    expected = {"startupProbe": "/livez", "livenessProbe": "/livez", "readinessProbe": "/readyz"}
    for probe, path in expected.items():
        assert container[probe]["httpGet"] == {"path": path, "port": "http"}, probe
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/path"] == "/metrics"
    assert annotations["prometheus.io/port"] == str(settings.api.port)


@pytest.mark.parametrize("deployment", deployments(), ids=deployment_ids())
def test_nothing_runs_as_root_or_with_privileges(deployment: Resource) -> None:
    pod = deployment["spec"]["template"]["spec"]
    context = pod["securityContext"]
    assert context["runAsNonRoot"] is True
    assert context["runAsUser"] == context["runAsGroup"] == 10001  # the image's USER
    assert context["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["automountServiceAccountToken"] is False
    assert not any(pod.get(host) for host in ("hostNetwork", "hostPID", "hostIPC"))
    for container in pod_containers(deployment):
        assert container["securityContext"] == {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "capabilities": {"drop": ["ALL"]},
        }, container["name"]


@pytest.mark.parametrize("deployment", deployments(), ids=deployment_ids())
def test_mounts_give_fleetsync_its_files_and_writable_scratch(
    deployment: Resource, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = configured(tmp_path, monkeypatch)
    assert settings.google.key_file is not None
    pod = deployment["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    for container in pod_containers(deployment):
        mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
        # The root filesystem is read-only: the state directory and /tmp are emptyDirs.
        for writable in (str(settings.data_dir), "/tmp"):
            assert "emptyDir" in volumes[mounts[writable]["name"]], writable
        config = mounts[CONFIG_FILE]
        config_map = volumes[config["name"]]["configMap"]["name"]
        assert config["subPath"] in find("ConfigMap", config_map)["data"]
    (main,) = pod["containers"]
    mounts = {m["mountPath"]: m for m in main["volumeMounts"]}
    key = settings.google.key_file.as_posix()
    secret = volumes[mounts[posixpath.dirname(key)]["name"]]["secret"]
    assert mounts[posixpath.dirname(key)]["readOnly"] is True
    key_secret = find_example_secret(secret["secretName"])
    assert posixpath.basename(key) in key_secret["stringData"]


def find_example_secret(name: str) -> Resource:
    (found,) = [d for d in documents(SECRET_EXAMPLE) if d["metadata"]["name"] == name]
    return found


@pytest.mark.parametrize("deployment", deployments(), ids=deployment_ids())
def test_every_secret_the_pods_use_is_in_the_example(deployment: Resource) -> None:
    pod = deployment["spec"]["template"]["spec"]
    names = {v["secret"]["secretName"] for v in pod["volumes"] if "secret" in v}
    for container in pod_containers(deployment):
        names |= {e["secretRef"]["name"] for e in container.get("envFrom", [])}
    for name in names:
        assert find_example_secret(name)["kind"] == "Secret"


@pytest.mark.parametrize("deployment", deployments(), ids=deployment_ids())
def test_the_cli_accepts_every_container_command(deployment: Resource) -> None:
    for container in pod_containers(deployment):
        assert_cli_accepts(container["args"])


@pytest.mark.parametrize("budget", ["fleetsync-api", "fleetsync-daemon"])
def test_disruption_budgets_cover_their_deployment(budget: str) -> None:
    selector = find("PodDisruptionBudget", budget)["spec"]["selector"]["matchLabels"]
    labels = find("Deployment", budget)["spec"]["template"]["metadata"]["labels"]
    assert selector.items() <= labels.items()


# ---------------------------------------------------------------------- config and secrets
def test_the_configmap_loads_with_the_secret_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Nothing secret in the ConfigMap itself.
    bare = configured(tmp_path, monkeypatch, with_secrets=False)
    assert bare.database_url is None
    assert bare.secret_key is None
    assert all(not desk.secrets and desk.token is None for desk in bare.api.desks.values())

    settings = configured(tmp_path, monkeypatch)
    assert settings.effective_database_url.startswith("postgresql+psycopg://")
    assert settings.secret_key is not None
    assert settings.data_dir == Path("/var/lib/fleetsync")
    assert settings.log_format == "json"
    # Each desk of the config gets its secrets and token from the Secret.
    assert settings.api.desks
    for name, desk in settings.api.desks.items():
        assert desk.secrets, f"no FLEETSYNC_API__DESKS__{name.upper()}__SECRETS in the Secret"
        assert desk.token is not None, name
    assert settings.api.admin_tokens


def test_the_example_secrets_hold_only_placeholders() -> None:
    for secret in documents(SECRET_EXAMPLE):
        assert secret["kind"] == "Secret"
        assert "data" not in secret  # base64 would hide what it holds
    assert_placeholder_secrets(secret_env())
    key = find_example_secret("fleetsync-google-key")["stringData"]["service-account.json"]
    assert_placeholder_key_file(key)


def test_secret_values_are_valid_json_where_fleetsync_expects_lists() -> None:
    for name, value in secret_env().items():
        if name.endswith(("__SECRETS", "ADMIN_TOKENS")):
            assert isinstance(json.loads(value), list), name
