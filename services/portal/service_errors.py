"""The services' refusals in the reader's language.

A service refuses with ``{"error": code, "detail": [{"field", "rule"?, "reason"}]}``, its
``reason`` in English. The catalogs translate the refusals the portal knows under the message id
``error:<key>``, the key being, most specific first, the item's ``rule`` (enrollment's
eligibility rules) or, for an item without one, ``<code>.<field>`` (a request field the service's
validation refused), then the ``code`` itself (documents' ``file_too_large``). Whatever no catalog knows is shown in the
service's own words: a new rule of a service is still explained, if in English. The en catalog
names only the few codes whose service text is too technical for a reader; every other English
page shows the service's reason, which is English already and often more precise (the floor of
the base, the date the retirement age is reached).
"""

from __future__ import annotations

from collections.abc import Callable

from services.portal.backend import Answer

Translate = Callable[[str], str]


def _keys(problem: dict, code: str) -> list[str]:
    """The catalog keys of a refusal, most specific first; the field speaks only for a refusal
    that names no rule (the request's validation: a field has one way to be malformed)."""
    field = str(problem.get("field") or "").split(".")[-1]
    specific = problem.get("rule") or (f"{code}.{field}" if field else None)
    return [str(key) for key in (specific, code) if key]


def reason(problem: dict, code: str, translate: Translate) -> str:
    """The reader's words for one refusal: the catalog's for a known key, else the service's."""
    for key in _keys(problem, code):
        message_id = f"error:{key}"
        translated = translate(message_id)
        if translated != message_id:
            return translated
    return str(problem.get("reason") or code)


def field_reasons(answer: Answer, translate: Translate) -> dict[str, str]:
    """The refusals by the form field they concern (the last part of ``body.x``; ``_`` for none)."""
    found: dict[str, str] = {}
    for problem in answer.problems():
        name = str(problem.get("field") or "").split(".")[-1] or "_"
        found.setdefault(name, reason(problem, answer.code, translate))
    return found


def summary(answer: Answer, translate: Translate) -> str:
    """Every refusal of ``answer`` in one line, each said once."""
    return "; ".join(dict.fromkeys(reason(problem, answer.code, translate) for problem in answer.problems()))
