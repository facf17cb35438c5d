"""The image's HEALTHCHECK: exit 0 when the service in this container answers ``/readyz`` with 200.

The port is the service's own (``SHEBAO_HTTP_PORT`` or its default from shared.settings);
the service is ``SHEBAO_SERVICE`` or, when the container was started with the service as
an argument, the ``python -m services.<name>`` process found in /proc.
"""

from __future__ import annotations

import os
import sys
import urllib.request
from pathlib import Path

from shared.settings import DEFAULT_PORTS


def running_service() -> str | None:
    """The name of the service process running in this container, if any."""
    if os.environ.get("SHEBAO_SERVICE"):
        return os.environ["SHEBAO_SERVICE"]
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            args = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue
        for arg in args:
            if arg.startswith(b"services.") and arg[len(b"services."):].decode() in DEFAULT_PORTS:
                return arg[len(b"services."):].decode()
    return None


def port() -> int:
    if os.environ.get("SHEBAO_HTTP_PORT"):
        return int(os.environ["SHEBAO_HTTP_PORT"])
    service = running_service()
    if service is None:
        raise SystemExit("healthcheck: no Shebao service runs in this container")
    return DEFAULT_PORTS[service]


def main() -> int:
    url = f"http://127.0.0.1:{port()}/readyz"
    try:
        with urllib.request.urlopen(url, timeout=4) as response:
            return 0 if response.status == 200 else 1
    except OSError as error:
        print(f"healthcheck: {url}: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
