"""The portal read and used as a browser would, without one: an httpx client that keeps the
session cookie, follows the portal's redirects and posts its forms with the CSRF token they
carry, and a minimal reading of the pages (the standard library's ``html.parser``): the forms
with their hidden fields, the links, each element's attributes and the text of elements by id.

It knows the portal's pages only by their stable hooks (ids, form actions, ``data-*``), never by
their wording, so it reads a zh-CN page as well as an English one."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

import httpx

# elements without an end tag
_VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track",
                   "wbr"})
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
_SECURE = re.compile(r";\s*secure(?=;|$)", re.IGNORECASE)


@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)  # its hidden inputs: csrf, decision …


@dataclass
class PortalPage:
    """One page the portal answered with, as read."""

    url: str
    status: int
    elements: list[tuple[str, dict[str, str]]]
    texts: dict[str, str]
    forms: list[Form]

    @property
    def path(self) -> str:
        return urlsplit(self.url).path

    def text(self, element_id: str) -> str:
        """The text inside the element of ``element_id`` (empty when there is none)."""
        return " ".join(self.texts.get(element_id, "").split())

    def links(self, starting: str) -> list[str]:
        """The addresses of the page's links that start with ``starting``."""
        return [attrs["href"] for tag, attrs in self.elements
                if tag == "a" and attrs.get("href", "").startswith(starting)]

    def having(self, tag: str, **wanted: str) -> list[dict[str, str]]:
        """The attributes of each ``tag`` whose attributes include ``wanted`` (``data_status`` for data-status)."""
        wanted = {name.replace("_", "-"): value for name, value in wanted.items()}
        return [attrs for name, attrs in self.elements
                if name == tag and all(attrs.get(key) == value for key, value in wanted.items())]

    def forms_where(self, check: Callable[[Form], bool]) -> list[Form]:
        return [form for form in self.forms if check(form)]

    def form(self, action: str) -> Form:
        found = self.forms_where(lambda form: form.action == action)
        if not found:
            raise LookupError(f"no form posting to {action} on {self.url}")
        return found[0]


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.texts: dict[str, str] = {}
        self.forms: list[Form] = []
        self._open_ids: list[str | None] = []
        self._form: Form | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {name: value or "" for name, value in attrs}
        self.elements.append((tag, found))
        if tag == "form":
            self._form = Form(found.get("action", ""), found.get("method", "get").lower())
            self.forms.append(self._form)
        elif tag == "input" and found.get("type") == "hidden" and self._form is not None and "name" in found:
            self._form.fields[found["name"]] = found.get("value", "")
        if tag not in _VOID:
            self._open_ids.append(found.get("id"))
            if found.get("id"):
                self.texts[found["id"]] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        if tag not in _VOID and self._open_ids:
            self._open_ids.pop()

    def handle_data(self, data: str) -> None:
        for element_id in filter(None, self._open_ids):
            self.texts[element_id] += data


def read_page(response: httpx.Response) -> PortalPage:
    reader = _Reader()
    reader.feed(response.text)
    reader.close()
    return PortalPage(str(response.url), response.status_code, reader.elements, reader.texts, reader.forms)


class _LoopbackIsSecure(httpx.HTTPTransport):
    """Browsers treat http://127.0.0.1 as a secure origin, so a local portal's ``Secure`` session
    cookie goes back to it; httpx keeps such a cookie for https only, so the flag is dropped here
    for a loopback portal (before the client's cookie jar reads the answer)."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        if request.url.host in _LOOPBACK:
            response.headers = httpx.Headers([
                (name, _SECURE.sub("", value) if name.lower() == "set-cookie" else value)
                for name, value in response.headers.multi_items()])
        return response


class PortalVisitor:
    """One person's visit to the portal: their own session, their language."""

    def __init__(self, portal_url: str, *, language: str = "en", timeout_s: float = 30.0) -> None:
        self.portal_url = portal_url.rstrip("/")
        self.client = httpx.Client(base_url=self.portal_url, transport=_LoopbackIsSecure(),
                                   headers={"Accept-Language": language}, follow_redirects=True, timeout=timeout_s)

    def get(self, path: str) -> PortalPage:
        return read_page(self.client.get(path))

    def submit(self, form: Form, fields: Mapping[str, Any] | None = None,
               files: Mapping[str, tuple[str, bytes, str]] | None = None) -> PortalPage:
        """Post ``form`` (its hidden fields, the CSRF token among them) with ``fields`` filled in."""
        data = {**form.fields, **(fields or {})}
        return read_page(self.client.post(form.action, data=data, files=files))

    def sign_in(self, role: str, region: str, id_number: str = "") -> PortalPage:
        """The development sign-in (a local portal only)."""
        signin = self.get("/signin")
        fields = {"role": role, "region": region, "id_number": id_number}
        return self.submit(signin.form("/signin/dev"), fields)

    def close(self) -> None:
        self.client.close()
