"""How a bill is paid where the portal has no simulated channel (production): through the
channels the bureau configured (``SHEBAO_PORTAL_PAYMENT_CHANNELS``), each with its steps.

A channel the portal knows (``bank_app``, ``unionpay`` …) is named and explained in the page's
language from the catalogs; any other configured entry is taken as the name of a channel and
shown with the general instruction, so that a region can list a local channel without a release.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

DEFAULT_CHANNELS = ("bank_app", "unionpay", "bank_counter")

# code → (name, steps), English source strings translated by the catalogs
KNOWN_CHANNELS: dict[str, tuple[str, str]] = {
    "bank_app": ("Your bank's app",
                 "In your bank's app, choose the social insurance payment, enter your resident ID number "
                 "and pay the amount outstanding."),
    "unionpay": ("UnionPay",
                 "In the UnionPay app, open the social insurance payment under living payments and enter "
                 "your resident ID number."),
    "bank_counter": ("A bank counter",
                     "At a counter of a partner bank, show your resident ID card and pay the amount "
                     "outstanding; keep the receipt."),
    "wechat_pay": ("WeChat Pay",
                   "In WeChat, open City Services, choose the social insurance payment and enter your "
                   "resident ID number."),
    "alipay": ("Alipay",
               "In Alipay, open the Citizen Centre, choose the social insurance payment and enter your "
               "resident ID number."),
    "tax_app": ("The tax bureau's app",
                "In the tax bureau's app, choose the social insurance contributions of individuals and pay "
                "the amount outstanding."),
}
GENERAL_STEPS = "Pay through %(channel)s, quoting your resident ID number."


@dataclass(frozen=True)
class HowToPay:
    """One channel as the bill page shows it."""

    code: str
    name: str
    steps: str


def how_to_pay(channels: Sequence[str], translate: Callable[[str], str]) -> list[HowToPay]:
    """The configured ``channels`` in the page's language, in the configured order."""
    shown = []
    for code in channels:
        if code in KNOWN_CHANNELS:
            name, steps = KNOWN_CHANNELS[code]
            shown.append(HowToPay(code, translate(name), translate(steps)))
        else:
            shown.append(HowToPay(code, code, translate(GENERAL_STEPS) % {"channel": code}))
    return shown
