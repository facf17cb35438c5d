"""What a person does in the portal, step by step in the browser, and the accessibility check
run on every page they see."""

from __future__ import annotations

import time
from collections.abc import Callable

from playwright.sync_api import Page

from tooling.journey import sample_files

UNLABELLED = """() => [...document.querySelectorAll('input, select, textarea')]
  .filter(el => el.type !== 'hidden')
  .filter(el => !(el.id && document.querySelector(`label[for="${el.id}"]`)) && !el.getAttribute('aria-label')
                && !el.closest('label'))
  .map(el => el.name || el.outerHTML)"""


def assert_labelled(page: Page) -> None:
    """Every input, select and text area of the page has a label."""
    missing = page.evaluate(UNLABELLED)
    assert missing == [], f"inputs without a label on {page.url}: {missing}"


MARK_LEFT = "() => { const main = document.querySelector('main'); if (main) main.setAttribute('data-left', ''); }"


def answered(page: Page, act: Callable[[], None], timeout_s: float = 30) -> None:
    """Do ``act`` (press a button, follow a link, press Enter) and wait for the page the portal
    answers with.

    Not a navigation event: with JavaScript on, an upload refused is the portal's page put in
    place by static/upload.js, no navigation at all, and a navigation's events can be missed or
    come twice (a redirect). What is waited for is the answer's ``<main>`` landmark: the one on
    screen is marked before ``act``, so the first unmarked one is the answer's. ``act`` waits for
    the page's ``load`` (its images and PDFs in): a click aimed while one comes in can land on it."""
    page.wait_for_load_state("load")
    page.evaluate(MARK_LEFT)
    act()
    page.wait_for_selector("main:not([data-left])", state="attached", timeout=timeout_s * 1000)
    page.wait_for_load_state("domcontentloaded")
    assert_labelled(page)


def submit(page: Page, selector: str, timeout_s: float = 30) -> None:
    """Press a form's button (or follow a link) and wait for the page the portal answers with."""
    answered(page, lambda: page.click(selector), timeout_s)


def visit(page: Page, url: str) -> None:
    page.goto(url, wait_until="domcontentloaded")
    assert_labelled(page)


def wait_for(page: Page, what: str, check: Callable[[], bool], timeout_s: float = 60) -> None:
    """Reload ``page`` until ``check`` holds (the services work behind events)."""
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what} on {page.url}")
        time.sleep(0.5)
        page.reload()


def sign_in_resident(page: Page, portal: str, id_number: str) -> None:
    visit(page, f"{portal}/signin")
    page.check("#role-resident")
    page.fill("#id_number", id_number)
    submit(page, "form.card button[type=submit]")
    assert page.url.rstrip("/") == portal


def sign_in_caseworker(page: Page, portal: str, region: str = "110000") -> None:
    visit(page, f"{portal}/signin")
    page.check("#role-caseworker")
    page.fill("#region", region)
    submit(page, "form.card button[type=submit]")
    assert page.url.endswith("/review")


def fill_application(page: Page, id_number: str, base: str = "7162.00") -> None:
    page.fill("#id_number", id_number)
    page.fill("#name", "Li Hua")
    page.fill("#phone", "13812345678")
    page.check("#prog-pension")
    page.check("#prog-medical_employee")
    page.fill("#declared_base", base)
    page.select_option("#frequency", "monthly")


def apply(page: Page, portal: str, id_number: str, base: str = "7162.00") -> str:
    """Apply (again while enrollment has not heard the region's policies); the application id."""
    deadline = time.monotonic() + 60
    while True:
        visit(page, f"{portal}/apply")
        fill_application(page, id_number, base)
        submit(page, "form.card button[type=submit]")
        if "/applications/" in page.url:
            return page.url.rsplit("/", 1)[1]
        if time.monotonic() > deadline:
            raise AssertionError(f"the application was refused: {page.inner_text('main')}")
        time.sleep(0.5)


def open_checklist(page: Page, portal: str, application_id: str) -> None:
    visit(page, f"{portal}/applications/{application_id}")
    wait_for(page, "the materials checklist", lambda: page.locator("#file-id_card").count() == 1)
    assert_labelled(page)


def upload(page: Page, material: str, name: str, content: bytes, mime: str) -> None:
    """Choose the file and press Upload: a plain form post with JavaScript off, static/upload.js's
    XMLHttpRequest with it on; either way the next page is the checklist."""
    page.set_input_files(f"#file-{material}", files=[{"name": name, "mimeType": mime, "buffer": content}])
    submit(page, f"#material-{material} button[type=submit]")


WATCH_PROGRESS = """(material) => {
  const key = 'progress-seen-' + material;
  const seen = [];
  sessionStorage.setItem(key, '[]');
  const note = () => {
    const bar = document.getElementById('progress-' + material);
    const status = document.getElementById('upload-status-' + material);
    if (!bar) return;
    const now = {value: bar.value, hidden: bar.hidden, status: status ? status.textContent : ''};
    const last = seen[seen.length - 1];
    if (!last || last.value !== now.value || last.hidden !== now.hidden || last.status !== now.status) {
      seen.push(now);
      sessionStorage.setItem(key, JSON.stringify(seen));
    }
  };
  new MutationObserver(note).observe(document.documentElement,
    {subtree: true, attributes: true, childList: true, characterData: true});
}"""


def watch_progress(page: Page, material: str) -> None:
    """Record each state of the material's progress bar and status text (kept in the tab's
    sessionStorage, so that they are still there on the page the upload leads to)."""
    page.evaluate(WATCH_PROGRESS, material)


def progress_seen(page: Page, material: str) -> list[dict]:
    """The states recorded by :func:`watch_progress`: ``{"value", "hidden", "status"}``."""
    return page.evaluate("(material) => JSON.parse(sessionStorage.getItem('progress-seen-' + material) || '[]')",
                         material)


def upload_all(page: Page) -> None:
    for material, (name, content, mime) in sample_files().items():
        upload(page, material, name, content, mime)
        assert "received" in page.inner_text(f"#material-{material}")
