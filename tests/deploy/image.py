"""The image's file system without Docker: deploy/Dockerfile's steps replayed under a
temporary root, every absolute image path (``/src``, ``/opt/venv``, ``/app``) moved below it.

Only the plain subset the Dockerfile keeps to is understood: in the build stage WORKDIR, COPY
and RUN (run with ``sh -c`` in the working directory, paths mapped); in the final stage COPY
(``--from=build`` of the same path needs nothing: the tree is shared) and ENV. The final
stage's RUN only creates the user and directories, which the test asserts and skips.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.deploy.deployfiles import REPO, Dockerfile, Stage, copy_sources, parse_dockerfile

DOCKER_DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc")


@dataclass
class ImageTree:
    root: Path
    dockerfile: Dockerfile

    def path(self, image_path: str) -> Path:
        return self.root / image_path.lstrip("/")

    def map_paths(self, text: str) -> str:
        """``text`` with every absolute image path that exists under the root moved there."""
        def move(match: re.Match) -> str:
            path = match.group(0)
            top = "/" + path.lstrip("/").split("/", 1)[0]
            return str(self.root) + path if self.path(top).exists() else path
        return re.sub(r"(?<![\w.$])/[\w./-]+", move, text)

    @property
    def workdir(self) -> Path:
        return self.path(self.dockerfile.final.workdir())

    @property
    def entrypoint(self) -> list[str]:
        return [self.map_paths(word) for word in self.dockerfile.final.all("ENTRYPOINT")[-1].json_or_words()]

    @property
    def venv(self) -> Path:
        (copy,) = [i for i in self.dockerfile.final.all("COPY") if "--from=" in i.arguments]
        sources, destination, _ = copy_sources(copy)
        return self.path(destination)

    def environment(self, **overrides: str) -> dict[str, str]:
        """The final stage's ENV as a container starts with it, plus ``overrides`` (``-e``)."""
        env = {"PATH": DOCKER_DEFAULT_PATH, "HOME": str(self.workdir)}
        for key, value in self.dockerfile.final.env().items():
            env[key] = self.map_paths(value.replace("$PATH", env["PATH"]))
        env.update(overrides)
        return env


def _copy(tree: ImageTree, stage: Stage, workdir: str) -> None:
    for instruction in stage.all("COPY"):
        sources, destination, flags = copy_sources(instruction)
        if "from" in flags:
            assert sources == [destination], "COPY --from must keep the path (a virtualenv is not relocatable)"
            continue
        target = tree.path(destination if destination.startswith("/") else f"{workdir}/{destination}")
        into_directory = destination.endswith("/") or len(sources) > 1
        for source in sources:
            origin = REPO / source
            assert origin.exists(), f"COPY source {source} is not in the repository"
            if origin.is_dir():
                shutil.copytree(origin, target, ignore=IGNORED, dirs_exist_ok=True)
                continue
            final = target / origin.name if into_directory else target
            final.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(origin, final)
            if "chmod" in flags:
                final.chmod(int(flags["chmod"], 8))


def build_image_tree(root: Path) -> ImageTree:
    """Replay the Dockerfile under ``root``: the build stage in full, the final stage's files."""
    dockerfile = parse_dockerfile()
    tree = ImageTree(root=root, dockerfile=dockerfile)
    build = dockerfile.stages[0]
    workdir = build.workdir()
    tree.path(workdir).mkdir(parents=True)
    _copy(tree, build, workdir)
    # build-venv.sh creates the virtualenv with "$PYTHON" (python3 in the image)
    env = {**os.environ, **build.env(), "PYTHON": sys._base_executable}
    for run in build.all("RUN"):
        # in the build stage every absolute path is an image path
        command = shlex.join(str(root) + word if word.startswith("/") else word for word in shlex.split(run.arguments))
        subprocess.run(["sh", "-c", command], cwd=tree.path(workdir), env=env, check=True,
                       capture_output=True, timeout=300)
    final_workdir = dockerfile.final.workdir()
    tree.path(final_workdir).mkdir(parents=True, exist_ok=True)
    _copy(tree, dockerfile.final, final_workdir)
    # the data directories the final stage's RUN creates for the services
    for key, value in dockerfile.final.env().items():
        if key.endswith("_DIR"):
            tree.path(value).mkdir(parents=True, exist_ok=True)
    return tree
