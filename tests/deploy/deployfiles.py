"""Reading the deployment files the way their tools do, offline, for the tests of deploy/.

- the Dockerfile: stages and instructions (a small parser for the plain subset it uses);
- compose.yaml: YAML (with merge keys) and Compose's ``${VAR}``, ``${VAR:-default}``,
  ``${VAR-default}`` interpolation, profiles;
- Kubernetes: overlays rendered by ``kubectl kustomize`` (kustomize is built into kubectl),
  a container's environment resolved from its ConfigMaps, Secrets and ``$(VAR)`` references;
- the code: every service's settings class (``ServiceDefinition.settings_class``), the
  environment variable names each field is read from, and building settings from an env.
"""

from __future__ import annotations

import contextlib
import copy
import importlib
import importlib.util
import os
import re
import shlex
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path
from typing import Any
from unittest import mock

import yaml
from pydantic import AliasChoices

from shared.settings import SECRETS_DIR_ENV, Settings

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
K8S = DEPLOY / "k8s"
OVERLAYS = {"beijing": "110000", "shanghai": "310000"}

# libpq's variables, which asyncpg reads too: the database host and password stay out of
# DATABASE_URL in Kubernetes (PGPASSWORD comes from a Secret).
LIBPQ_VARIABLES = {"PGHOST", "PGPORT", "PGDATABASE", "PGSSLMODE", "PGPASSWORD"}


# --- the code's settings ------------------------------------------------------------------

def service_definition(name: str):
    return importlib.import_module(f"services.{name}.app").SERVICE


def settings_class(name: str) -> type[Settings]:
    """The settings class a service runs with (its own subclass, or the shared one)."""
    return service_definition(name).settings_class


@lru_cache(maxsize=1)
def topics_job_module():
    """deploy/create_topics.py, imported from its path (deploy/ is not a package)."""
    spec = importlib.util.spec_from_file_location("shebao_create_topics", DEPLOY / "create_topics.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def env_names(cls: type[Settings]) -> dict[str, str]:
    """Every environment variable ``cls`` reads (upper case) → the field it sets."""
    prefix = cls.model_config.get("env_prefix", "")
    names: dict[str, str] = {}
    for name, info in cls.model_fields.items():
        alias = info.validation_alias
        if isinstance(alias, AliasChoices):
            for choice in alias.choices:
                names[str(choice).upper()] = name
        elif isinstance(alias, str):
            names[alias.upper()] = name
        else:
            names[f"{prefix}{name}".upper()] = name
    return names


def required_env(cls: type[Settings]) -> dict[str, set[str]]:
    """The fields without a default → the variable names any of which sets them."""
    names = env_names(cls)
    return {
        field_name: {env for env, target in names.items() if target == field_name}
        for field_name, info in cls.model_fields.items() if info.is_required()
    }


def unknown_variables(cls: type[Settings], env: Mapping[str, str]) -> set[str]:
    """Variables in ``env`` that ``cls`` does not read (a typo, or a setting that was renamed)."""
    known = set(env_names(cls)) | LIBPQ_VARIABLES | {SECRETS_DIR_ENV}
    return {name for name in env if name.upper() not in known}


def missing_required(cls: type[Settings], env: Mapping[str, str]) -> set[str]:
    present = {name.upper() for name in env}
    return {field_name for field_name, names in required_env(cls).items() if not names & present}


def settings_from_env(cls: type[Settings], env: Mapping[str, str]) -> Settings:
    """``cls`` built as a process with exactly ``env`` as its environment would build it."""
    with mock.patch.dict(os.environ, dict(env), clear=True):
        return cls()


# --- Dockerfile ---------------------------------------------------------------------------

@dataclass
class Instruction:
    keyword: str
    arguments: str

    def json_or_words(self) -> list[str]:
        text = self.arguments.strip()
        if text.startswith("["):
            return yaml.safe_load(text)
        return shlex.split(text)


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]

    def env(self) -> dict[str, str]:
        values: dict[str, str] = {}
        for instruction in self.all("ENV"):
            for word in shlex.split(instruction.arguments):
                key, _, value = word.partition("=")
                values[key] = value
        return values

    def workdir(self) -> str:
        return self.all("WORKDIR")[-1].arguments.strip()


@dataclass
class Dockerfile:
    args: dict[str, str]
    stages: list[Stage]

    def stage(self, name: str) -> Stage:
        return next(stage for stage in self.stages if stage.name == name)

    @property
    def final(self) -> Stage:
        return self.stages[-1]


def parse_dockerfile(path: Path = DEPLOY / "Dockerfile") -> Dockerfile:
    """Instructions with continuation lines joined, comments dropped, ``${ARG}`` in FROM resolved."""
    lines, current = [], ""
    for raw in path.read_text().splitlines():
        stripped = raw.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        lines.append(current + stripped)
        current = ""
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for line in lines:
        keyword, _, arguments = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "ARG" and not stages:
            key, _, value = arguments.strip().partition("=")
            args[key] = value
        elif keyword == "FROM":
            words = arguments.split()
            base = re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], words[0])
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            stages.append(Stage(base=base, name=name))
        else:
            stages[-1].instructions.append(Instruction(keyword, arguments.strip()))
    return Dockerfile(args=args, stages=stages)


def copy_sources(instruction: Instruction) -> tuple[list[str], str, dict[str, str]]:
    """(sources, destination, flags) of a COPY instruction."""
    words = shlex.split(instruction.arguments)
    flags = {}
    while words and words[0].startswith("--"):
        key, _, value = words.pop(0)[2:].partition("=")
        flags[key] = value
    return words[:-1], words[-1], flags


def image_environment() -> dict[str, str]:
    """The environment the image gives every container (the final stage's ENV), PATH aside."""
    env = parse_dockerfile().final.env()
    env.pop("PATH", None)
    return env


# --- compose ------------------------------------------------------------------------------

_INTERPOLATION = re.compile(r"\$(?:\$|\{(?P<name>\w+)(?:(?P<op>:-|-)(?P<default>[^}]*))?\})")


def interpolate(value: Any, env: Mapping[str, str]) -> Any:
    """Compose's variable substitution on every string of a parsed file."""
    if isinstance(value, dict):
        return {key: interpolate(item, env) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, env) for item in value]
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match) -> str:
        if match.group(0) == "$$":
            return "$"
        name, op, default = match.group("name"), match.group("op"), match.group("default")
        if op == ":-":
            return env.get(name) or default
        if op == "-":
            return env[name] if name in env else default
        return env.get(name, "")

    return _INTERPOLATION.sub(substitute, value)


def read_env_file(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


@dataclass
class ComposeProject:
    document: dict
    env: dict[str, str]

    @property
    def profiles(self) -> set[str]:
        return {p for p in self.env.get("COMPOSE_PROFILES", "").split(",") if p}

    @property
    def services(self) -> dict[str, dict]:
        """The services that start under the active profiles."""
        return {
            name: service for name, service in self.document["services"].items()
            if not service.get("profiles") or set(service["profiles"]) & self.profiles
        }

    def environment(self, service: str) -> dict[str, str]:
        values = self.document["services"][service].get("environment", {})
        if isinstance(values, list):
            values = dict(item.partition("=")[::2] for item in values)
        return {key: "" if value is None else str(value) for key, value in values.items()}


def raw_compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def compose_project(env: Mapping[str, str] | None = None) -> ComposeProject:
    env = dict(env or {})
    return ComposeProject(document=interpolate(raw_compose(), env), env=env)


# --- Kubernetes ---------------------------------------------------------------------------

def kubectl() -> str:
    path = shutil.which("kubectl")
    assert path, "kubectl (with its built-in kustomize) is needed to render deploy/k8s: apt-get install kubectl"
    return path


def render_kustomization(directory: Path) -> list[dict]:
    """``kubectl kustomize directory``: the manifests that ``kubectl apply -k`` would send."""
    result = subprocess.run([kubectl(), "kustomize", str(directory)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, f"kustomize {directory}: {result.stderr}"
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


@cache
def _rendered(overlay: str) -> list[dict]:
    return render_kustomization(K8S / "overlays" / overlay)


@dataclass
class Rendered:
    """One overlay, rendered."""

    overlay: str
    manifests: list[dict]

    def of_kind(self, kind: str) -> list[dict]:
        return [m for m in self.manifests if m["kind"] == kind]

    def named(self, kind: str, name: str) -> dict:
        matches = [m for m in self.of_kind(kind) if m["metadata"]["name"] == name]
        assert len(matches) == 1, f"{self.overlay}: expected one {kind} {name}, found {len(matches)}"
        return matches[0]

    def config_map(self, name: str) -> dict[str, str]:
        return self.named("ConfigMap", name).get("data", {})

    def container_env(self, container: dict) -> dict[str, str]:
        """A container's environment as the kubelet builds it: envFrom first, then env with
        ``$(VAR)`` expanded; a Secret's value stands as ``<secret name/key>``."""
        env: dict[str, str] = {}
        for source in container.get("envFrom", []):
            assert "configMapRef" in source, f"unexpected envFrom {source}"
            env.update(self.config_map(source["configMapRef"]["name"]))
        for variable in container.get("env", []):
            if "value" in variable:
                env[variable["name"]] = re.sub(
                    r"\$\((\w+)\)", lambda m: env.get(m.group(1), m.group(0)), variable["value"])
            else:
                ref = variable["valueFrom"]["secretKeyRef"]
                env[variable["name"]] = f"<secret {ref['name']}/{ref['key']}>"
        return env

    def secret_refs(self, container: dict) -> dict[str, dict]:
        return {v["name"]: v["valueFrom"]["secretKeyRef"] for v in container.get("env", []) if "valueFrom" in v}


def rendered(overlay: str) -> Rendered:
    """The overlay's manifests (rendered once; each call gets its own copy to change)."""
    return Rendered(overlay, copy.deepcopy(_rendered(overlay)))


# --- processes ----------------------------------------------------------------------------

@contextlib.contextmanager
def terminated_at_exit(process: subprocess.Popen) -> Iterator[subprocess.Popen]:
    """Make sure ``process`` is gone when the block ends, whatever happened in it."""
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
