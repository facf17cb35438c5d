"""The notices Shebao sends, in Chinese and English.

    message = render("bill_issued", "en", variables.bill_issued(event))

``render`` picks the language's texts and fills them strictly: a missing variable raises
``MissingVariable`` (the template tests render every notice in both languages with real
events, so a gap fails a test, not a resident's SMS).
"""

from __future__ import annotations

from collections.abc import Sequence

from services.notifications.domain.model import Message
from services.notifications.domain.templates import variables
from services.notifications.domain.templates.en import EnglishWording
from services.notifications.domain.templates.wording import MissingVariable, Wording, fill
from services.notifications.domain.templates.zh_cn import ChineseWording

__all__ = ["MissingVariable", "Wording", "digest", "email_text", "render", "sms_text", "variables", "wording_for"]

WORDINGS: dict[str, Wording] = {"zh-CN": ChineseWording(), "en": EnglishWording()}


def wording_for(language: str) -> Wording:
    return WORDINGS[language]


def render(template: str, language: str, variables_for: variables.VariablesFor) -> Message:
    """The notice ``template`` worded in ``language``; raises ``MissingVariable`` for a gap."""
    wording = wording_for(language)
    title, body = wording.texts[template]
    values = variables_for(wording)
    return Message(
        title=fill(title, values, f"{template} title", language).strip(),
        # an empty optional note may leave a space at the end
        body=fill(body, values, template, language).strip(),
    )


def digest(language: str, messages: Sequence[Message]) -> Message:
    """Several notices of one kind as one message: a count with the first title, then each text."""
    wording = wording_for(language)
    title = wording.phrase("digest_title", count=len(messages), title=messages[0].title)
    lines = [wording.phrase("digest_item", number=number, title=message.title, body=message.body)
             for number, message in enumerate(messages, start=1)]
    return Message(title=title, body="\n".join(lines))


def sms_text(language: str, message: Message) -> str:
    return wording_for(language).sms_signature + message.body


def email_text(language: str, message: Message) -> str:
    return f"{message.body}\n\n--\n{wording_for(language).email_footer}\n"
