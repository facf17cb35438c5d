"""zh-CN and en: the committed ``locales/*/LC_MESSAGES/messages.po`` catalogs, compiled in memory
at start-up with Babel (no build step). The language is the user's choice (cookie ``lang``) or the
browser's ``Accept-Language``."""

from __future__ import annotations

import gettext
import io
from functools import lru_cache
from pathlib import Path

from babel import Locale, negotiate_locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALES_DIR = Path(__file__).parent / "locales"
LANGUAGES = {"zh-CN": "zh_CN", "en": "en"}
DEFAULT_LANGUAGE = "zh-CN"
LANGUAGE_COOKIE = "lang"


@lru_cache
def translations(language: str) -> gettext.NullTranslations:
    """The compiled catalog of ``language`` (English is the source language; its catalog only names codes)."""
    folder = LANGUAGES.get(language)
    po = LOCALES_DIR / (folder or "") / "LC_MESSAGES" / "messages.po"
    if folder is None or not po.exists():
        return gettext.NullTranslations()
    with po.open("rb") as source:
        catalog = read_po(source, locale=folder)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def choose_language(cookie: str | None, accept_language: str | None) -> str:
    """The cookie's language when it is one we have, else the browser's best match, else zh-CN."""
    if cookie in LANGUAGES:
        return cookie
    wanted = []
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().replace("-", "_")
        if tag:
            wanted.append(tag)
    found = negotiate_locale(wanted, ["zh_CN", "en"], sep="_") if wanted else None
    if found is None and any(tag.lower().startswith("zh") for tag in wanted):
        found = "zh_CN"
    return {"zh_CN": "zh-CN", "en": "en"}.get(found or "", DEFAULT_LANGUAGE)


def language_name(language: str) -> str:
    return Locale.parse(LANGUAGES[language]).get_display_name(LANGUAGES[language])
