"""deploy/k8s: every overlay rendered by kustomize, every manifest valid against the
Kubernetes schemas (kubernetes-validate, strict), and consistent with the code: a Deployment
per service, every setting the code requires set, no variable the code does not read, ports
and probe paths that the service serves, autoscaling capped at the partition count."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
import kubernetes_validate
import pytest
import yaml

from shared.events import all_topics
from shared.runtime import build_http_app
from shared.settings import DEFAULT_PORTS, SERVICE_NAMES
from tests.deploy.deployfiles import (
    DEPLOY,
    K8S,
    OVERLAYS,
    image_environment,
    missing_required,
    render_kustomization,
    rendered,
    service_definition,
    settings_class,
    settings_from_env,
    topics_job_module,
    unknown_variables,
)

KUBERNETES_VERSION = "1.30"  # the oldest release the manifests are meant for


@pytest.fixture(params=sorted(OVERLAYS))
def overlay(request):
    return rendered(request.param)


def container(deployment: dict) -> dict:
    containers = deployment["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


def service_settings(overlay, name: str):
    env = overlay.container_env(container(overlay.named("Deployment", name)))
    return settings_from_env(settings_class(name), {**image_environment(), **env})


# --- schemas ------------------------------------------------------------------------------

@pytest.mark.parametrize("directory", ["base", *(f"overlays/{o}" for o in sorted(OVERLAYS))])
def test_every_rendered_manifest_is_valid_kubernetes(directory):
    manifests = render_kustomization(K8S / directory)
    assert manifests
    for manifest in manifests:
        kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)


def test_the_schema_check_catches_a_misspelt_field():
    deployment = rendered("beijing").named("Deployment", "billing")
    container(deployment)["readinesProbe"] = container(deployment).pop("readinessProbe")
    with pytest.raises(kubernetes_validate.ValidationError, match="readinesProbe"):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


# --- one set of workloads per service -----------------------------------------------------

def test_every_service_in_the_code_has_its_workloads(overlay):
    for kind in ("Deployment", "Service", "PodDisruptionBudget", "HorizontalPodAutoscaler"):
        assert {m["metadata"]["name"] for m in overlay.of_kind(kind)} == set(SERVICE_NAMES), kind


@pytest.mark.parametrize("name", SERVICE_NAMES)
def test_the_deployment_runs_the_service_from_the_overlays_image(overlay, name):
    spec = overlay.named("Deployment", name)["spec"]
    main = container(overlay.named("Deployment", name))
    assert main["args"] == [name]
    assert main["image"].startswith("registry.") and ":" in main["image"]
    assert "replicas" not in spec, "the HorizontalPodAutoscaler owns the replica count"
    pod = spec["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert main["securityContext"]["readOnlyRootFilesystem"] is True
    assert main["securityContext"]["capabilities"]["drop"] == ["ALL"]
    assert main["resources"]["requests"] and main["resources"]["limits"]
    # SIGTERM: uvicorn drains (20 s), then the outbox flush (10 s), after the preStop pause
    assert pod["terminationGracePeriodSeconds"] > 30 + int(main["lifecycle"]["preStop"]["exec"]["command"][-1])


@pytest.mark.parametrize("name", SERVICE_NAMES)
def test_the_environment_holds_only_settings_the_code_reads_and_every_required_one(overlay, name):
    env = overlay.container_env(container(overlay.named("Deployment", name)))
    cls = settings_class(name)
    assert not unknown_variables(cls, env), "variables the service does not read"
    assert not missing_required(cls, {**image_environment(), **env}), "required settings not set"
    assert env["SHEBAO_JWT_SECRET"].startswith("<secret "), "the JWT key comes from a Secret"


@pytest.mark.parametrize("name", SERVICE_NAMES)
def test_settings_built_from_the_overlay_are_the_regions_production_settings(overlay, name):
    settings = service_settings(overlay, name)
    assert settings.environment == "production"
    assert settings.region == OVERLAYS[overlay.overlay]
    assert (settings.kafka_acks, settings.kafka_idempotent_producer) == ("all", True)
    assert settings.kafka_security_protocol == "SASL_SSL"
    assert settings.kafka_sasl_username and settings.kafka_sasl_password.startswith("<secret ")
    assert settings.http_host == "0.0.0.0"


@pytest.mark.parametrize("name", SERVICE_NAMES)
def test_the_service_connects_as_its_own_database_role(overlay, name):
    url = urlsplit(service_settings(overlay, name).database_url)
    config = overlay.config_map(container(overlay.named("Deployment", name))["envFrom"][0]["configMapRef"]["name"])
    assert url.username == f"shebao_{name}"  # created by deploy/postgres/init-roles.sh
    assert (url.hostname, str(url.port), url.path) == (config["PGHOST"], config["PGPORT"], f"/{config['PGDATABASE']}")
    password = overlay.secret_refs(container(overlay.named("Deployment", name)))["PGPASSWORD"]
    assert password == {"name": "shebao-db", "key": f"{name}-password"}


async def served_status(app, path: str) -> int:
    """The status ``app`` answers GET ``path`` with, its runtime not started (no database)."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://probe") as client:
        return (await client.get(path)).status_code


@pytest.mark.parametrize("name", SERVICE_NAMES)
async def test_ports_and_probes_match_what_the_service_serves(overlay, name):
    deployment = overlay.named("Deployment", name)
    main = container(deployment)
    settings = service_settings(overlay, name)
    assert main["ports"] == [{"name": "http", "containerPort": settings.port, "protocol": "TCP"}]
    assert settings.port == DEFAULT_PORTS[name]
    app = build_http_app(service_definition(name), settings)
    probes = {kind: main[kind]["httpGet"] for kind in ("startupProbe", "readinessProbe", "livenessProbe")}
    assert all(probe["port"] == "http" for probe in probes.values())
    # liveness and startup must not depend on the database or the broker; readiness does
    assert await served_status(app, probes["livenessProbe"]["path"]) == 200
    assert await served_status(app, probes["startupProbe"]["path"]) == 200
    assert probes["readinessProbe"]["path"] == "/readyz"
    assert await served_status(app, probes["readinessProbe"]["path"]) == 503
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/port"] == str(settings.port)
    assert await served_status(app, annotations["prometheus.io/path"]) == 200
    service = overlay.named("Service", name)
    assert service["spec"]["ports"][0]["targetPort"] == "http"
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]


@pytest.mark.parametrize("name", SERVICE_NAMES)
def test_autoscaling_never_exceeds_the_partition_count(overlay, name):
    hpa = overlay.named("HorizontalPodAutoscaler", name)["spec"]
    pdb = overlay.named("PodDisruptionBudget", name)["spec"]
    partitions = service_settings(overlay, name).topic_partitions
    assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
    assert 2 <= hpa["minReplicas"] <= hpa["maxReplicas"] <= partitions
    assert pdb["minAvailable"] < hpa["minReplicas"], "a node drain must be able to evict one pod"
    assert pdb["selector"] == overlay.named("Deployment", name)["spec"]["selector"]


def test_stateful_directories_are_volumes(overlay):
    for name, setting, volume_kind in [("documents", "documents_storage_dir", "persistentVolumeClaim"),
                                       ("notifications", "notifications_sink_dir", "emptyDir")]:
        pod = overlay.named("Deployment", name)["spec"]["template"]["spec"]
        directory = str(getattr(service_settings(overlay, name), setting))
        mounted = {m["mountPath"]: m["name"] for m in container(overlay.named("Deployment", name))["volumeMounts"]}
        volume = next(v for v in pod["volumes"] if v["name"] == mounted[directory])
        assert volume_kind in volume
    claim = overlay.named("PersistentVolumeClaim", "documents-storage")["spec"]
    assert claim["accessModes"] == ["ReadWriteMany"] and claim["storageClassName"]


# --- the topic Job ------------------------------------------------------------------------

def test_the_topic_job_creates_the_topics_the_services_use(overlay):
    job = overlay.named("Job", "create-topics")
    main = job["spec"]["template"]["spec"]["containers"][0]
    assert main["args"] == ["create-topics"]
    env = overlay.container_env(main)
    cls = topics_job_module().TopicSettings
    assert not unknown_variables(cls, env)
    settings = settings_from_env(cls, {**image_environment(), **env})
    billing = service_settings(overlay, "billing")
    assert (settings.topic_prefix, settings.topic_partitions, settings.kafka_bootstrap_servers) == (
        billing.topic_prefix, billing.topic_partitions, billing.kafka_bootstrap_servers)
    assert settings.topic_replication_factor == 3 and settings.topic_min_insync_replicas == 2


# --- the regions --------------------------------------------------------------------------

def test_the_overlays_differ_in_region_topics_kafka_and_database():
    beijing, shanghai = (service_settings(rendered(o), "billing") for o in ("beijing", "shanghai"))
    for setting in ("region", "topic_prefix", "kafka_bootstrap_servers", "database_url", "kafka_sasl_username"):
        assert getattr(beijing, setting) != getattr(shanghai, setting), setting
    namespaces = {o: {m["metadata"].get("namespace") for m in rendered(o).manifests if m["kind"] != "Namespace"}
                  for o in OVERLAYS}
    assert namespaces == {"beijing": {"shebao-beijing"}, "shanghai": {"shebao-shanghai"}}


def test_every_referenced_secret_is_documented():
    readme = (DEPLOY / "README.md").read_text()
    for overlay_name in OVERLAYS:
        overlay = rendered(overlay_name)
        for workload in overlay.of_kind("Deployment") + overlay.of_kind("Job"):
            pod = workload["spec"]["template"]["spec"]
            for ref in overlay.secret_refs(pod["containers"][0]).values():
                assert f"{ref['name']}" in readme and ref["key"] in readme, ref
            for volume in pod["volumes"]:
                if "secret" in volume:
                    assert volume["secret"]["secretName"] in readme


# --- Strimzi ------------------------------------------------------------------------------

def test_the_strimzi_example_matches_the_beijing_overlay():
    documents = [d for d in yaml.safe_load_all((K8S / "strimzi" / "beijing.yaml").read_text()) if d]
    topics = [d for d in documents if d["kind"] == "KafkaTopic"]
    (user,) = [d for d in documents if d["kind"] == "KafkaUser"]
    overlay = rendered("beijing")
    settings = service_settings(overlay, "billing")
    job_env = overlay.container_env(overlay.named("Job", "create-topics")["spec"]["template"]["spec"]["containers"][0])
    job_settings = settings_from_env(topics_job_module().TopicSettings, job_env)
    for document in documents:
        assert document["apiVersion"] == "kafka.strimzi.io/v1beta2"
        assert document["metadata"]["labels"]["strimzi.io/cluster"] == "shebao-bj"
    assert [t["spec"]["topicName"] for t in topics] == all_topics(settings.topic_prefix)
    for topic in topics:
        spec = topic["spec"]
        assert topic["metadata"]["name"] == spec["topicName"]
        assert (spec["partitions"], spec["replicas"]) == (
            settings.topic_partitions, job_settings.topic_replication_factor)
        assert spec["config"]["min.insync.replicas"] == job_settings.topic_min_insync_replicas
        is_dlq = spec["topicName"].endswith(".dlq")
        expected_retention = job_settings.dlq_retention_ms if is_dlq else job_settings.topic_retention_ms
        assert spec["config"]["retention.ms"] == expected_retention
    assert user["metadata"]["name"] == settings.kafka_sasl_username
    assert {acl["resource"]["name"] for acl in user["spec"]["authorization"]["acls"] if "name" in acl["resource"]} == {
        f"{settings.topic_prefix}shebao."}


def test_every_overlay_is_tested():
    assert {path.name for path in (K8S / "overlays").iterdir() if path.is_dir()} == set(OVERLAYS)
