"""deploy/compose.yaml: valid against the Compose specification, and consistent with the code
(settings, ports, topics, database roles) in both its setups: one broker by default, three
with replication factor 3 and min.insync.replicas=2 in the prod-like profile."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from shared.settings import DEFAULT_PORTS, SERVICE_NAMES
from tests.deploy.deployfiles import (
    DEPLOY,
    compose_project,
    image_environment,
    missing_required,
    raw_compose,
    read_env_file,
    settings_class,
    settings_from_env,
    topics_job_module,
    unknown_variables,
)

PROD_LIKE_ENV = DEPLOY / "compose.prod-like.env"
SETUPS = {"default": {}, "prod-like": read_env_file(PROD_LIKE_ENV)}


def validate_against_compose_spec(path: Path) -> subprocess.CompletedProcess:
    """check-jsonschema with the Compose specification schema it ships (no network)."""
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.compose-spec", str(path)],
        capture_output=True, text=True, timeout=60,
    )


@pytest.fixture(params=sorted(SETUPS))
def project(request):
    return compose_project(SETUPS[request.param])


def test_compose_file_follows_the_compose_specification():
    result = validate_against_compose_spec(DEPLOY / "compose.yaml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_schema_check_catches_a_broken_file(tmp_path):
    broken = raw_compose()
    broken["services"]["billing"]["deploy"]["replicas"] = ["two"]
    broken["services"]["enrollment"]["restart_policy"] = "always"
    path = tmp_path / "compose.yaml"
    path.write_text(yaml.safe_dump(broken))
    result = validate_against_compose_spec(path)
    assert result.returncode == 1
    assert "replicas" in result.stdout and "restart_policy" in result.stdout


def test_the_prod_like_env_file_turns_on_its_profile():
    assert compose_project(SETUPS["prod-like"]).profiles == {"prod-like"}
    assert compose_project(SETUPS["default"]).profiles == set()


# --- Kafka --------------------------------------------------------------------------------

def brokers(project) -> dict[str, dict[str, str]]:
    return {name: project.environment(name) for name, service in project.services.items()
            if str(service.get("image", "")).startswith("apache/kafka:")}


@pytest.mark.parametrize(("setup", "count", "replication", "min_isr"), [("default", 1, 1, 1), ("prod-like", 3, 3, 2)])
def test_kafka_runs_in_kraft_mode_with_the_setups_replication(setup, count, replication, min_isr):
    kafka = brokers(compose_project(SETUPS[setup]))
    assert len(kafka) == count
    voters = {f"{env['KAFKA_NODE_ID']}@{name}:9093" for name, env in kafka.items()}
    for name, env in kafka.items():
        assert "controller" in env["KAFKA_PROCESS_ROLES"] and "broker" in env["KAFKA_PROCESS_ROLES"]
        assert not any(key.startswith("KAFKA_ZOOKEEPER") for key in env)
        assert set(env["KAFKA_CONTROLLER_QUORUM_VOTERS"].split(",")) == voters
        assert env["KAFKA_ADVERTISED_LISTENERS"] == f"PLAINTEXT://{name}:9092"
        assert int(env["KAFKA_DEFAULT_REPLICATION_FACTOR"]) == replication
        assert int(env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"]) == replication
        assert int(env["KAFKA_MIN_INSYNC_REPLICAS"]) == min_isr
        assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    assert len({env["KAFKA_NODE_ID"] for env in kafka.values()}) == count
    assert len({env["CLUSTER_ID"] for env in kafka.values()}) == 1


def test_the_topic_job_creates_the_topics_with_the_brokers_replication(project):
    job = project.services["create-topics"]
    assert job["command"] == ["create-topics"]
    assert job["restart"] == "no"
    env = project.environment("create-topics")
    topic_settings = topics_job_module().TopicSettings
    assert not unknown_variables(topic_settings, env)
    settings = settings_from_env(topic_settings, {**image_environment(), **env})
    kafka = brokers(project)
    assert settings.topic_replication_factor == len(kafka)
    assert settings.topic_min_insync_replicas == int(next(iter(kafka.values()))["KAFKA_MIN_INSYNC_REPLICAS"])
    assert set(settings.kafka_bootstrap_servers.split(",")) == {f"{name}:9092" for name in kafka}
    for broker in kafka:
        assert job["depends_on"][broker]["condition"] == "service_healthy"


# --- the four services --------------------------------------------------------------------

def service_env(project, name: str) -> dict[str, str]:
    return {**image_environment(), **project.environment(name)}


@pytest.mark.parametrize("name", SERVICE_NAMES)
def test_every_service_runs_from_the_image_with_settings_the_code_reads(project, name):
    service = project.services[name]
    assert service["build"] == {"context": "..", "dockerfile": "deploy/Dockerfile"}
    assert (DEPLOY / service["build"]["context"] / service["build"]["dockerfile"]).is_file()
    env = project.environment(name)
    assert env["SHEBAO_SERVICE"] == name
    cls = settings_class(name)
    assert not unknown_variables(cls, env), "variables the code does not read"
    assert not missing_required(cls, service_env(project, name)), "required settings not set"
    settings = settings_from_env(cls, service_env(project, name))
    assert settings.environment == "production"
    assert (settings.kafka_acks, settings.kafka_idempotent_producer) == ("all", True)
    assert settings.http_host == "0.0.0.0"
    assert settings.log_format == "json"
    assert set(settings.kafka_bootstrap_servers.split(",")) == {f"{b}:9092" for b in brokers(project)}
    assert settings.topic_partitions == int(project.environment("create-topics")["SHEBAO_TOPIC_PARTITIONS"])


@pytest.mark.parametrize("name", SERVICE_NAMES)
def test_every_service_connects_as_its_own_database_role(project, name):
    url = urlsplit(project.environment(name)["DATABASE_URL"])
    postgres = project.environment("postgres")
    assert (url.hostname, url.port, url.path) == ("postgres", 5432, f"/{postgres['POSTGRES_DB']}")
    assert url.username == f"shebao_{name}"
    assert url.password == postgres[f"SHEBAO_DB_PASSWORD_{name.upper()}"]


@pytest.mark.parametrize("name", SERVICE_NAMES)
def test_every_service_waits_for_its_database_and_topics(project, name):
    depends = project.services[name]["depends_on"]
    assert depends["postgres"]["condition"] == "service_healthy"
    assert depends["create-topics"]["condition"] == "service_completed_successfully"


@pytest.mark.parametrize("name", SERVICE_NAMES)
def test_published_ports_reach_the_port_the_service_listens_on(project, name):
    settings = settings_from_env(settings_class(name), service_env(project, name))
    container_ports = {int(port.rsplit(":", 1)[1]) for port in project.services[name]["ports"]}
    assert container_ports == {settings.port} == {DEFAULT_PORTS[name]}


def test_billing_runs_two_replicas_with_host_ports_for_as_many_as_there_are_partitions(project):
    billing = project.services["billing"]
    assert billing["deploy"]["replicas"] == 2
    host_side = billing["ports"][0].rsplit(":", 1)[0]
    first, last = (int(port) for port in host_side.rsplit(":", 1)[1].split("-"))
    partitions = int(project.environment("billing")["SHEBAO_TOPIC_PARTITIONS"])
    assert last - first + 1 == partitions  # `--scale billing=N` works up to the partition count


def test_stateful_services_keep_their_files_in_volumes_at_the_configured_directories(project):
    for name, setting in [("documents", "documents_storage_dir"), ("notifications", "notifications_sink_dir")]:
        directory = str(getattr(settings_from_env(settings_class(name), service_env(project, name)), setting))
        mounts = {volume.split(":")[1]: volume.split(":")[0] for volume in project.services[name]["volumes"]}
        assert mounts.get(directory) in project.document["volumes"]


def test_the_grace_period_outlasts_the_services_own_shutdown(project):
    # uvicorn's graceful timeout (20 s) + outbox flush (10 s) in shared/runtime.py
    for name in SERVICE_NAMES:
        seconds = int(project.services[name]["stop_grace_period"].rstrip("s"))
        assert seconds > 30


# --- PostgreSQL and Prometheus ------------------------------------------------------------

def test_postgres_runs_the_role_script_at_initialisation(project):
    postgres = project.services["postgres"]
    assert postgres["image"].startswith("postgres:")
    scripts = [v.split(":") for v in postgres["volumes"] if "/docker-entrypoint-initdb.d/" in v]
    assert [(DEPLOY / source).resolve() for source, *_ in scripts] == [DEPLOY / "postgres" / "init-roles.sh"]
    assert postgres["healthcheck"]["test"][0] == "CMD-SHELL"


def test_prometheus_scrapes_every_service_on_its_port():
    prometheus = compose_project().services["prometheus"]
    source = next(v.split(":")[0] for v in prometheus["volumes"] if v.endswith("prometheus.yml:ro"))
    config = yaml.safe_load((DEPLOY / source).read_text())
    targets = {
        job["job_name"]: (
            job["metrics_path"], tuple(job["dns_sd_configs"][0]["names"]), job["dns_sd_configs"][0]["port"]
        )
        for job in config["scrape_configs"]
    }
    assert targets == {name: ("/metrics", (name,), DEFAULT_PORTS[name]) for name in SERVICE_NAMES}


# --- secrets ------------------------------------------------------------------------------

SECRETS_BY_SERVICE = {
    "enrollment": {"shebao_jwt_secret"}, "documents": {"shebao_jwt_secret"},
    "billing": {"shebao_jwt_secret", "shebao_voucher_signing_key"}, "notifications": {"shebao_jwt_secret"},
}


def test_no_service_carries_a_secret_value_only_files_mounted_from_deploy_secrets(project):
    definitions = project.document["secrets"]

    for name, wanted in SECRETS_BY_SERVICE.items():
        env = project.environment(name)
        assert not {"SHEBAO_JWT_SECRET", "SHEBAO_VOUCHER_SIGNING_KEY"} & set(env), name
        assert env["SHEBAO_SECRETS_DIR"] == "/run/secrets"
        assert set(project.services[name]["secrets"]) == wanted
    assert {name: spec["file"] for name, spec in definitions.items()} == {
        "shebao_jwt_secret": "./secrets/shebao_jwt_secret",
        "shebao_voucher_signing_key": "./secrets/shebao_voucher_signing_key",
    }
    assert "deploy/secrets/" in (DEPLOY.parent / ".gitignore").read_text().splitlines()


@pytest.mark.parametrize("name", SERVICE_NAMES)
def test_with_the_secrets_make_secrets_writes_every_service_may_start_in_production(project, name, tmp_path):
    secrets = tmp_path / "secrets"
    result = subprocess.run([str(DEPLOY / "make-secrets.sh"), str(secrets)], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    env = {**service_env(project, name), "SHEBAO_SECRETS_DIR": str(secrets)}

    settings = settings_from_env(settings_class(name), env)
    without_files = settings_from_env(settings_class(name), service_env(project, name))

    assert settings.environment == "production"
    assert settings.secret_problems() == []
    assert "SHEBAO_JWT_SECRET: is the public development default" in without_files.secret_problems()
