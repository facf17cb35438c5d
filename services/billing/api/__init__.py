"""HTTP routes of the billing service: validate, authorize, call the operations. One module per
part of the trade (each under ``/v1``); this one gathers them."""

from __future__ import annotations

from fastapi import APIRouter

from services.billing.api import certificates, payments, pension, policies, refunds
from shared.runtime import serve_routes

router = APIRouter()
for part in (policies, payments, refunds, pension, certificates):
    serve_routes(router, part.router)
