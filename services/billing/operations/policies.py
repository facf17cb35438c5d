"""Publishing regional policy versions."""

from __future__ import annotations

import uuid
from datetime import date

from services.billing.domain.policy import Policy, all_in_force, policy_problems
from services.billing.operations.common import Conflict, Rejected, Service
from services.billing.repository import policies as repo
from shared.events import PolicyPublished
from shared.unit_of_work import UnitsOfWork


def policy_published(policy: Policy) -> PolicyPublished:
    """The announcement of a version, as every service reads it."""
    return PolicyPublished(
        region=policy.region,
        programme=policy.programme,
        effective_from=policy.effective_from,
        base_floor=policy.base_floor,
        base_ceiling=policy.base_ceiling,
        rate=policy.rate,
        personal_account_rate=policy.personal_account_rate,
        flat_amount=policy.flat_amount,
        flat_period=policy.flat_period,
        frequencies=policy.frequencies,
        due_day=policy.due_day,
        grace_days=policy.grace_days,
        late_fee_daily_rate=policy.late_fee_daily_rate,
        back_payment_allowed=policy.back_payment_allowed,
    )


async def announce_policies(service: Service) -> int:
    """Publish ``PolicyPublished`` for every version not announced yet (the seeded ones at
    first start). Idempotent: a version is announced once, whatever the number of replicas."""
    async with service.units.begin() as uow:
        claimed = await repo.claim_unannounced(uow.conn, service.settings.seed_regions)
        for policy_id, policy in claimed:
            uow.emit(policy_published(policy), subject=str(policy_id), region=policy.region)
        if claimed:
            await repo.mark_announced(uow.conn, [policy_id for policy_id, _ in claimed])
    return len(claimed)


async def publish_policy(units: UnitsOfWork, policy: Policy, today: date) -> uuid.UUID:
    """Store a new version (validated against the rules) and announce it, in one transaction."""
    problems = policy_problems(policy, today)
    if problems:
        raise Rejected([(problem.field, problem.reason) for problem in problems])
    async with units.begin() as uow:
        policy_id = await repo.insert_policy(uow.conn, policy, announced=True)
        if policy_id is None:
            raise Conflict("body.effective_from",
                           f"region {policy.region} already has a {policy.programme} version from that date")
        uow.emit(policy_published(policy), subject=str(policy_id), region=policy.region)
    return policy_id


async def policies_in_force(units: UnitsOfWork, on: date, region: str | None) -> list[Policy]:
    """The versions in force on ``on``, per programme, in ``region`` or every region."""
    async with units.read() as uow:
        return all_in_force(await repo.all_policies(uow.conn), on, region)
