"""The materials checklist's uploads in the browser, JavaScript on and off (issue 15).

On: static/upload.js sends the form with XMLHttpRequest, its progress bar and status text go to
100%, then the checklist shows the material received. Off: the same form posts as a plain form
and the checklist shows the same. An oversized file gets the same error beside the field both
ways (test_portal_errors.py runs the error paths in both modes)."""

from __future__ import annotations

import pytest

from tests.browser.portal_user import (
    apply,
    assert_labelled,
    open_checklist,
    progress_seen,
    sign_in_resident,
    upload,
    watch_progress,
)
from tooling.journey import a_resident_id_number, sample_files

pytestmark = pytest.mark.e2e

# large enough for the progress to be reported on the way (documents reads the PNG signature)
LARGE_PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * (6 * 1024 * 1024 // 256)


def _checklist(browser, portal_url, *, javascript: bool):
    context = browser.new_context(locale="en-US", java_script_enabled=javascript)
    page = context.new_page()
    id_number = a_resident_id_number()
    sign_in_resident(page, portal_url, id_number)
    application_id = apply(page, portal_url, id_number)
    open_checklist(page, portal_url, application_id)
    posts: list[dict] = []
    page.on("request", lambda request: posts.append(request.headers) if request.method == "POST" else None)
    return context, page, application_id, posts


def _troubles(page) -> list[str]:
    """The page's script errors and console errors (a CSP violation is one), from now on."""
    troubles: list[str] = []
    page.on("pageerror", lambda error: troubles.append(str(error)))
    page.on("console", lambda message: troubles.append(message.text) if message.type == "error" else None)
    return troubles


def test_with_javascript_the_upload_shows_its_progress_to_100_and_the_material_is_then_received(
        browser, portal_url):
    context, page, application_id, posts = _checklist(browser, portal_url, javascript=True)
    assert page.locator("#progress-id_card").is_hidden()  # shown once an upload starts
    troubles = _troubles(page)
    cdp = context.new_cdp_session(page)  # a slow line, so that the upload takes a while
    cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": 20,
                                                  "downloadThroughput": -1, "uploadThroughput": 8 * 1024 * 1024})
    watch_progress(page, "id_card")
    upload(page, "id_card", "large-scan.png", LARGE_PNG, "image/png")
    cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": 0,
                                                  "downloadThroughput": -1, "uploadThroughput": -1})

    assert page.url == f"{portal_url}/applications/{application_id}"
    assert "received" in page.inner_text("#material-id_card")
    assert [headers.get("x-requested-with") for headers in posts] == ["XMLHttpRequest"]  # sent by the script
    seen = progress_seen(page, "id_card")
    values = [state["value"] for state in seen if not state["hidden"]]
    assert values and values == sorted(values), seen
    assert values[-1] == 100, seen
    assert any(0 < value < 100 for value in values), seen  # reported on the way, not only at the end
    statuses = [state["status"] for state in seen]
    assert "Uploading: 100%" in statuses, statuses
    assert statuses[-1] == "Uploaded. Opening the checklist…", statuses

    # a checklist an upload left, come back from the back/forward cache busy, is a form to use again
    page.evaluate("""() => {
      const form = document.querySelector('#material-household_register form');
      form.setAttribute('aria-busy', 'true');
      form.querySelectorAll('button, input[type=file]').forEach((control) => { control.disabled = true; });
      form.querySelector('progress').hidden = false;
      window.dispatchEvent(new PageTransitionEvent('pageshow', {persisted: true}));
    }""")
    assert page.locator("#material-household_register button[type=submit]").is_enabled()
    assert page.locator("#file-household_register").is_enabled()
    assert page.locator("#progress-household_register").is_hidden()

    # the three other materials, one after the other, the same way
    for material, (name, content, mime) in list(sample_files().items())[1:]:
        upload(page, material, name, content, mime)
        assert "received" in page.inner_text(f"#material-{material}")
    assert all(headers.get("x-requested-with") == "XMLHttpRequest" for headers in posts)
    assert troubles == []  # no script error, no Content-Security-Policy violation
    assert_labelled(page)


def test_without_javascript_the_same_upload_posts_the_plain_form(browser, portal_url):
    _, page, application_id, posts = _checklist(browser, portal_url, javascript=False)
    name, content, mime = sample_files()["id_card"]
    upload(page, "id_card", name, content, mime)
    assert page.url == f"{portal_url}/applications/{application_id}"  # the 303 of the plain post, followed
    assert "received" in page.inner_text("#material-id_card")
    assert len(posts) == 1 and "x-requested-with" not in posts[0]
    assert "multipart/form-data" in posts[0]["content-type"]
    assert page.locator("#progress-household_register").is_hidden()  # no script: no progress bar
    assert page.inner_text("#upload-status-household_register") == ""
