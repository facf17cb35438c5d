"""``python -m services.portal``: serve the portal (port 8100 unless SHEBAO_PORTAL_PORT)."""

import uvicorn

from services.portal.app import create_app
from services.portal.settings import PortalSettings
from shared.logging import configure_logging

if __name__ == "__main__":
    settings = PortalSettings()
    problems = settings.production_problems()
    if problems:
        raise SystemExit("the portal refuses to start in production: " + "; ".join(problems))
    # masked JSON lines like the services' (shared/logging.py), and like them no access log
    configure_logging("portal")
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_config=None, access_log=False)
