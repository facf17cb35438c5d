/*
 * The materials checklist's uploads with a progress bar (issue 15).
 *
 * Progressive enhancement: without this script (JavaScript off, or an old browser) every
 * form[data-upload] posts as the plain multipart form it is. With it, the same form is sent with
 * XMLHttpRequest (whose upload.onprogress reports the bytes sent) as the same FormData, the
 * form's CSRF token included, plus `X-Requested-With: XMLHttpRequest`, and the server's answer is
 * followed as the browser would follow it:
 *   - {"location": …} (the server's 303 of a plain post) -> that page is loaded;
 *   - a redirect the request followed anyway (the sign-in page) -> that page is loaded;
 *   - an HTML page (the checklist with a type or size error beside the field, the 403 of an
 *     expired form) -> it replaces this page's title and body, the same markup as a plain post shows;
 *   - no answer (the network failed) -> the status says so and the form can be sent again.
 * The texts are the page's, in its language (the form's data-* attributes).
 * Plain ES2017, no libraries, no inline script: the portal's CSP is script-src 'self'.
 */
(function () {
  'use strict';

  if (!window.XMLHttpRequest || !window.FormData || !window.DOMParser) {
    return; // the plain form
  }

  const STEP = 10; // the status text (read out by screen readers) changes every STEP percent

  function say(form, text) {
    const status = form.querySelector('.upload-status');
    if (status && status.textContent !== text) {
      status.textContent = text;
    }
  }

  function showProgress(form, percent) {
    const progress = form.querySelector('progress');
    if (progress) {
      progress.hidden = false;
      progress.value = percent;
      progress.textContent = percent + '%';
    }
    const shown = Math.min(100, Math.floor(percent / STEP) * STEP);
    if (form.dataset.shown !== String(shown)) {
      form.dataset.shown = String(shown);
      say(form, (form.dataset.uploading || '{percent}%').replace('{percent}', String(shown)));
    }
  }

  function busy(form, on) {
    form.querySelectorAll('button, input[type=file]').forEach(function (control) {
      control.disabled = on;
    });
    if (on) {
      form.setAttribute('aria-busy', 'true');
    } else {
      form.removeAttribute('aria-busy');
    }
  }

  function failed(form) {
    busy(form, false);
    delete form.dataset.shown;
    const progress = form.querySelector('progress');
    if (progress) {
      progress.hidden = true;
    }
    say(form, form.dataset.failed || 'The upload failed.');
  }

  function showPage(html) {
    const answer = new DOMParser().parseFromString(html, 'text/html');
    document.title = answer.title;
    if (answer.documentElement.lang) {
      document.documentElement.lang = answer.documentElement.lang;
    }
    document.body.replaceWith(document.adoptNode(answer.body));
    const invalid = document.querySelector('[aria-invalid="true"]');
    if (invalid) {
      invalid.focus(); // beside it the error (role=alert), which it names (aria-describedby)
    }
  }

  function pathOf(address) {
    return new URL(address, document.baseURI).pathname;
  }

  function answered(form, xhr) {
    const kind = (xhr.getResponseHeader('Content-Type') || '').split(';')[0].trim();
    if (xhr.responseURL && pathOf(xhr.responseURL) !== pathOf(form.action)) {
      window.location.assign(xhr.responseURL); // redirected on the way (e.g. to the sign-in page)
      return;
    }
    if (kind === 'application/json') {
      let location = null;
      try {
        location = JSON.parse(xhr.responseText).location;
      } catch (error) {
        location = null;
      }
      if (typeof location === 'string' && location.charAt(0) === '/' && location.charAt(1) !== '/') {
        showProgress(form, 100);
        say(form, form.dataset.uploaded || '');
        window.location.assign(location);
        return;
      }
    }
    if (kind === 'text/html') {
      showPage(xhr.responseText);
      return;
    }
    failed(form);
  }

  function send(form) {
    const data = new FormData(form); // before the controls are disabled: disabled ones are not sent
    const xhr = new XMLHttpRequest();
    xhr.open('POST', form.action);
    xhr.setRequestHeader('X-Requested-With', 'XMLHttpRequest');
    xhr.upload.addEventListener('progress', function (event) {
      if (event.lengthComputable && event.total > 0) {
        showProgress(form, Math.round((event.loaded * 100) / event.total));
      }
    });
    xhr.upload.addEventListener('load', function () {
      showProgress(form, 100);
    });
    xhr.addEventListener('load', function () {
      answered(form, xhr);
    });
    xhr.addEventListener('error', function () {
      failed(form);
    });
    xhr.addEventListener('abort', function () {
      failed(form);
    });
    xhr.addEventListener('timeout', function () {
      failed(form);
    });
    busy(form, true);
    showProgress(form, 0);
    xhr.send(data);
  }

  // Back to the checklist an upload left: the page may come back from the back/forward cache
  // as it was left, its form busy; it is a form to fill again, as after a plain post
  window.addEventListener('pageshow', function (event) {
    if (event.persisted) {
      document.querySelectorAll('form[data-upload][aria-busy]').forEach(function (form) {
        busy(form, false);
        delete form.dataset.shown;
        form.querySelector('progress').hidden = true;
        say(form, '');
      });
    }
  });

  // delegated: the forms of a page put in by showPage are taken over as well
  document.addEventListener('submit', function (event) {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute('data-upload') || event.defaultPrevented) {
      return;
    }
    event.preventDefault();
    if (form.getAttribute('aria-busy') !== 'true') {
      send(form);
    }
  });
}());
