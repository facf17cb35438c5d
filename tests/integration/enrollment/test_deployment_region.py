"""A regional deployment serves its own region: another region's tokens and applications are refused."""

from __future__ import annotations

import uuid

import pytest

from services.enrollment.app import SERVICE
from tests.integration.enrollment.conftest import BEIJING, SHANGHAI, Enrollment, Resident
from tests.service_harness import running_service

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def beijing_deployment(infrastructure):
    prefix = f"t{uuid.uuid4().hex[:10]}."
    async with running_service(infrastructure, SERVICE, prefix=prefix, region=BEIJING,
                               served_regions_list="") as svc:
        service = Enrollment(svc, infrastructure.bootstrap_servers, prefix)
        await service.seed_policies()
        yield service


async def test_a_shanghai_application_is_refused_by_the_beijing_deployment(beijing_deployment):
    resident = Resident()

    answer = await beijing_deployment.apply(resident, region=SHANGHAI, declared_base="7460")

    assert answer.status_code == 422
    assert answer.json()["detail"] == [{"field": "body.region", "rule": "region_not_served",
                                        "reason": "this deployment serves region 110000"}]


async def test_a_shanghai_caseworker_is_refused_by_the_beijing_deployment(beijing_deployment):
    resident = Resident()
    await beijing_deployment.an_application(resident)

    answer = await beijing_deployment.client.get(f"/v1/persons/{resident.person_id}/applications",
                                                 headers=beijing_deployment.as_caseworker(SHANGHAI))
    own = await beijing_deployment.client.get(f"/v1/persons/{resident.person_id}/applications",
                                              headers=beijing_deployment.as_caseworker(BEIJING))

    assert answer.status_code == 403
    assert answer.json()["detail"] == [{"reason": "this deployment serves region 110000, not 310000"}]
    assert own.status_code == 200
