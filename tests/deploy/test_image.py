"""The container image without a Docker engine: the Dockerfile's own steps build its Python
environment in a temporary root (tests/deploy/image.py), and one service is started from it
through the image's entry point against the session's PostgreSQL and broker."""

from __future__ import annotations

import json
import re
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import asyncpg
import pytest

from shared.events import all_topics
from shared.settings import SERVICE_NAMES
from tests.deploy.deployfiles import DEPLOY, REPO, copy_sources, parse_dockerfile, terminated_at_exit
from tests.deploy.image import ImageTree, build_image_tree
from tests.deploy.roles import init_roles, role_url
from tooling.devstack import free_port

pytestmark = pytest.mark.integration

BUILD_TOOLS = re.compile(r"\b(apt-get install|apk add|gcc|build-essential|pip install)\b")


@pytest.fixture(scope="session")
def image(tmp_path_factory) -> ImageTree:
    """The image's file system, built once per session (pip's cache keeps it to seconds)."""
    return build_image_tree(tmp_path_factory.mktemp("image"))


# --- the Dockerfile -----------------------------------------------------------------------

def test_two_stages_on_slim_python_311_and_nothing_built_in_the_final_one():
    dockerfile = parse_dockerfile()
    build, final = dockerfile.stages
    assert build.name == "build"
    for stage in (build, final):
        assert re.fullmatch(r"python:3\.11-slim(-\w+)?", stage.base), stage.base
    assert {i.keyword for i in build.instructions} <= {"WORKDIR", "COPY", "RUN", "ENV"}
    for run in final.all("RUN"):
        assert not BUILD_TOOLS.search(run.arguments), run.arguments
    (venv_copy,) = [i for i in final.all("COPY") if "--from=build" in i.arguments]
    assert copy_sources(venv_copy)[0] == ["/opt/venv"]


def test_the_final_stage_runs_as_a_non_root_user_with_health_check_and_entry_point():
    final = parse_dockerfile().final
    user = final.all("USER")[-1].arguments
    assert user.split(":")[0] not in ("0", "root")
    assert final.all("ENTRYPOINT")[-1].json_or_words() == ["/app/entrypoint.sh"]
    assert "healthcheck.py" in final.all("HEALTHCHECK")[-1].arguments
    assert final.all("STOPSIGNAL")[-1].arguments == "SIGTERM"
    env = final.env()
    assert env["SHEBAO_HTTP_HOST"] == "0.0.0.0" and env["SHEBAO_LOG_FORMAT"] == "json"
    assert env["SHEBAO_ENVIRONMENT"] == "production"
    assert env["PATH"].startswith("/opt/venv/bin:")


def test_the_docker_context_keeps_every_file_the_dockerfile_copies():
    allowed = [line[1:] for line in (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()
               if line.startswith("!")]
    for stage in parse_dockerfile().stages:
        for instruction in stage.all("COPY"):
            sources, _, flags = copy_sources(instruction)
            for source in sources if "from" not in flags else []:
                assert source in allowed or f"{source}/**" in allowed, source


def test_the_entry_point_knows_every_service_in_the_code():
    script = (DEPLOY / "entrypoint.sh").read_text()
    assert f"    {'|'.join(SERVICE_NAMES)})" in script


# --- the environment the Dockerfile builds ------------------------------------------------

def test_the_installed_package_holds_every_file_of_the_sources(image):
    """Migrations, templates, schemas: what is not Python must be declared package data."""
    site_packages = next(image.venv.glob("lib/python3.*/site-packages"))
    missing = [
        str(path.relative_to(REPO))
        for top in ("shared", "services")
        for path in (REPO / top).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and not path.name.startswith(".")
        and path.suffix != ".md"  # documentation for the reader of the sources
        and not (site_packages / path.relative_to(REPO)).exists()
    ]
    assert not missing


def test_the_entry_point_without_a_service_explains_itself(image):
    result = subprocess.run(image.entrypoint, cwd=image.workdir, env=image.environment(),
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 64
    assert "usage" in result.stderr


def test_the_entry_point_runs_other_commands_as_given(image):
    result = subprocess.run([*image.entrypoint, "shebao", "--help"], cwd=image.workdir,
                            env=image.environment(), capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "replay" in result.stdout


def wait_ready(url: str, process: subprocess.Popen, timeout_s: float = 60.0) -> int:
    deadline = time.monotonic() + timeout_s
    status = None
    while time.monotonic() < deadline:
        assert process.poll() is None, f"the service exited with {process.returncode}"
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.status
        except urllib.error.HTTPError as error:
            status = error.code  # 503 while the broker or the database is not reachable yet
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} not ready within {timeout_s} s (last status {status})")


def json_lines(path: Path) -> list[dict]:
    lines = [line for line in path.read_text().splitlines() if line.strip()]
    assert lines
    return [json.loads(line) for line in lines]  # fails on any line that is not JSON


async def test_a_service_starts_from_the_image_and_stops_cleanly_on_sigterm(image, infrastructure, unique_name):
    # the database as a bureau's would be: the roles of deploy/postgres, the service connecting as its own
    infrastructure.postgres.create_database(unique_name)
    init_roles(infrastructure, unique_name)
    port = free_port()
    # the JWT secret as compose and Kubernetes hand it over: a file named after the variable
    secrets = image.root / f"{unique_name}-secrets"
    secrets.mkdir()
    (secrets / "shebao_jwt_secret").write_text("image-test-secret-" + "s" * 32)
    env = image.environment(
        DATABASE_URL=role_url(infrastructure, unique_name, "enrollment"),
        KAFKA_BOOTSTRAP_SERVERS=infrastructure.bootstrap_servers,
        SHEBAO_TOPIC_PREFIX=f"{unique_name}.",
        SHEBAO_HTTP_PORT=str(port),
        SHEBAO_SECRETS_DIR=str(secrets),
        # the image's production defaults, but Tansu has no idempotent producer (acks=all stays)
        SHEBAO_KAFKA_IDEMPOTENT_PRODUCER="false",
        SHEBAO_KAFKA_SESSION_TIMEOUT_MS="2000",
        SHEBAO_KAFKA_HEARTBEAT_INTERVAL_MS="500",
    )

    topics = subprocess.run([*image.entrypoint, "create-topics"], cwd=image.workdir, env=env,
                            capture_output=True, text=True, timeout=120)
    assert topics.returncode == 0, topics.stdout + topics.stderr
    assert set(json.loads(topics.stdout.splitlines()[-1])["topics"]) == set(all_topics(f"{unique_name}."))

    # the service named by SHEBAO_SERVICE (as compose does; Kubernetes passes it as the argument,
    # the way create-topics was passed above)
    log_path = image.root / f"{unique_name}.log"
    with open(log_path, "w") as log, terminated_at_exit(subprocess.Popen(
            image.entrypoint, cwd=image.workdir, env={**env, "SHEBAO_SERVICE": "enrollment"},
            stdout=log, stderr=subprocess.STDOUT)) as service:
        assert wait_ready(f"http://127.0.0.1:{port}/readyz", service) == 200
        # entrypoint.sh exec'd the service: SIGTERM goes to the service itself
        assert b"services.enrollment" in Path(f"/proc/{service.pid}/cmdline").read_bytes()
        health = subprocess.run(["python", str(image.workdir / "healthcheck.py")], cwd=image.workdir,
                                env={**env, "SHEBAO_SERVICE": "enrollment"}, capture_output=True, timeout=30)
        assert health.returncode == 0, health.stderr
        service.terminate()
        assert service.wait(timeout=45) == 0

    events = [line["event"] for line in json_lines(log_path)]
    assert "migrations applied" in events and "service started" in events
    assert events[-1] == "service stopped"
    conn = await asyncpg.connect(infrastructure.postgres.url(unique_name))
    try:
        owner = await conn.fetchval(
            "SELECT tableowner FROM pg_tables WHERE schemaname = 'enrollment' AND tablename = 'outbox'")
        assert owner == "shebao_enrollment"
    finally:
        await conn.close()


def test_production_refuses_to_start_on_the_development_secrets_naming_them(image):
    env = image.environment(SHEBAO_SERVICE="billing", SHEBAO_HTTP_PORT=str(free_port()),
                            DATABASE_URL="postgresql://nobody@127.0.0.1:1/none")

    result = subprocess.run(image.entrypoint, cwd=image.workdir, env=env, capture_output=True, text=True,
                            timeout=60)

    assert result.returncode == 2
    [refusal] = [line for line in json_lines_of(result.stdout + result.stderr) if line.get("level") == "error"]
    assert refusal["event"] == "refusing to start in production: set SHEBAO_JWT_SECRET, SHEBAO_VOUCHER_SIGNING_KEY"


def json_lines_of(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_the_health_check_fails_when_nothing_answers(image):
    env = image.environment(SHEBAO_SERVICE="enrollment", SHEBAO_HTTP_PORT=str(free_port()))
    result = subprocess.run(["python", str(image.workdir / "healthcheck.py")], cwd=image.workdir,
                            env=env, capture_output=True, text=True, timeout=30)
    assert result.returncode == 1
