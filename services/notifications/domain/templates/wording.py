"""What a language needs to word a notice: the template texts, the names of things, and how
it writes money, dates and lists. ``ChineseWording`` and ``EnglishWording`` fill it in.

Every text is a ``string.Template`` filled with ``substitute``: a variable the template
uses but the caller did not give raises instead of leaving a blank in a resident's notice.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from string import Template

from shared.money import to_money
from shared.periods import Month


class MissingVariable(KeyError):
    """A template or phrase used a variable it was not given."""

    def __init__(self, text: str, language: str, variable: str) -> None:
        super().__init__(f"{text} ({language}) needs ${variable}")
        self.text = text
        self.language = language
        self.variable = variable


class Wording:
    language: str
    texts: Mapping[str, tuple[str, str]]  # template → (title, body)
    phrases: Mapping[str, str]
    programmes: Mapping[str, str]
    frequencies: Mapping[str, str]
    materials: Mapping[str, str]
    rejection_reasons: Mapping[str, str]
    payment_channels: Mapping[str, str]
    separator: str
    sms_signature: str
    email_footer: str

    # names of things (an unknown code is a bug: KeyError)

    def programme(self, code: str) -> str:
        return self.programmes[code]

    def frequency(self, code: str) -> str:
        return self.frequencies[code]

    def material(self, code: str) -> str:
        return self.materials[code]

    def rejection_reason(self, code: str) -> str:
        return self.rejection_reasons[code]

    def payment_channel(self, name: str) -> str:
        # channels are free text from the payment side: known ones get a name, others stay
        return self.payment_channels.get(name.lower(), name)

    def join(self, items: Iterable[str]) -> str:
        return self.separator.join(items)

    def phrase(self, name: str, **variables: object) -> str:
        return fill(self.phrases[name], variables, f"phrase {name}", self.language)

    # numbers and time, overridden per language

    def money(self, amount: Decimal) -> str:
        raise NotImplementedError

    def date(self, day: date) -> str:
        raise NotImplementedError

    def month(self, month: str) -> str:
        raise NotImplementedError

    def instant(self, at: datetime) -> str:
        """A moment, already in the region's time zone."""
        raise NotImplementedError

    def month_range(self, months: Iterable[str]) -> str:
        ordered = sorted(months)
        if len(ordered) == 1:
            return self.month(ordered[0])
        return self.phrase("month_range", first=self.month(ordered[0]), last=self.month(ordered[-1]))

    @staticmethod
    def grouped(amount: Decimal) -> str:
        """``1432.4`` → ``1,432.40``."""
        return f"{to_money(amount):,.2f}"

    @staticmethod
    def parse_month(month: str) -> Month:
        return Month.parse(month)


def fill(text: str, variables: Mapping[str, object], what: str, language: str) -> str:
    """``text`` with its ``$variables`` substituted; raises ``MissingVariable`` for one not given."""
    try:
        return Template(text).substitute(variables)
    except KeyError as missing:
        raise MissingVariable(what, language, str(missing.args[0])) from None
