#!/bin/sh
# The image's Python environment: a virtualenv at $2 holding the project found at $1,
# installed as a regular (non-editable) package with the dependencies of pyproject.toml.
# Run by deploy/Dockerfile's build stage and, the same way, by tests/deploy/test_image.py.
set -eu
src="$1"
venv="$2"
"${PYTHON:-python3}" -m venv "$venv"
"$venv/bin/python" -m pip install --disable-pip-version-check --no-input --quiet "$src"
# Nothing of the build is needed at run time.
"$venv/bin/python" -m pip uninstall --yes --quiet pip
