// Drafts (careteam/drafts): the form marked data-draft-form is saved on the server while
// its author types, so a closed tab, a crash or an idle logoff loses nothing. The server
// restores the draft when the form opens again. Without this script the form's "Save
// draft" and "Discard draft" buttons post to the same routes.
// Saves carry X-CareTeam-Autosave: they are not activity for the idle logoff (typing is,
// through idle-warning.js's throttled keep-alive), so a save made as the idle warning
// opens cannot keep a session alive behind the user's back.
(function () {
  "use strict";
  var form = document.querySelector("form[data-draft-form]");
  if (!form || !window.fetch || !window.FormData || !window.URLSearchParams) {
    return;
  }
  var saveUrl = form.getAttribute("data-draft-url");
  var discardUrl = form.getAttribute("data-draft-discard-url");
  var status = form.querySelector("[data-draft-status]");
  var discardButton = form.querySelector("[data-draft-discard]");
  // A pause this long after a keystroke saves; typing without a pause saves this often.
  var PAUSE_MS = 1500;
  var MAX_WAIT_MS = 10000;
  var timer = null;
  var firstChange = 0;
  var submitted = false;
  var lastSent = serialize();

  function serialize() {
    return new URLSearchParams(new FormData(form)).toString();
  }

  function say(text, problem) {
    if (status) {
      status.textContent = text;
      status.classList.toggle("draft-problem", !!problem);
    }
  }

  function showDiscard(shown) {
    if (discardButton) {
      discardButton.hidden = !shown;
    }
  }

  function post(url, body, unloading) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      redirect: "manual",
      keepalive: !!unloading,
      headers: {
        "Accept": "application/json",
        "Content-Type": "application/x-www-form-urlencoded",
        "X-CareTeam-Autosave": "1"
      },
      body: body
    });
  }

  function failed(response) {
    var json = (response.headers.get("Content-Type") || "").indexOf("application/json") === 0;
    if (json) {
      return response.json().then(function (data) {
        say(data.error || "Draft not saved.", true);
      });
    }
    say("Draft not saved: your session may have ended. Copy your text before you leave this page.", true);
    return null;
  }

  function save(unloading) {
    window.clearTimeout(timer);
    timer = null;
    firstChange = 0;
    var body = serialize();
    if (submitted || body === lastSent) {
      return Promise.resolve();
    }
    if (!unloading) {
      say("Saving draft…");
    }
    return post(saveUrl, body, unloading)
      .then(function (response) {
        if (response.status !== 200) {
          return failed(response);
        }
        return response.json().then(function (data) {
          lastSent = body;
          if (data.saved) {
            say("Draft saved " + data.saved_at + ". Only you can see it until you post it.");
          } else {
            say("Nothing to keep: the draft is empty.");
          }
          showDiscard(!!data.saved);
        });
      })
      .catch(function () {
        say("Draft not saved: no connection. Keep this page open; it tries again as you type.", true);
      });
  }

  function changed() {
    var now = Date.now();
    if (!firstChange) {
      firstChange = now;
    }
    window.clearTimeout(timer);
    // Typing without a pause still saves every MAX_WAIT_MS.
    var wait = Math.min(PAUSE_MS, Math.max(0, firstChange + MAX_WAIT_MS - now));
    timer = window.setTimeout(function () {
      save(false);
    }, wait);
  }

  function discard() {
    if (!window.confirm("Discard this draft? What you typed here is deleted.")) {
      return;
    }
    window.clearTimeout(timer);
    timer = null;
    post(discardUrl, serialize(), false)
      .then(function (response) {
        if (response.status !== 204) {
          return failed(response);
        }
        form.querySelectorAll("input[type=text], input:not([type]), textarea").forEach(function (field) {
          field.value = "";
        });
        lastSent = serialize();
        showDiscard(false);
        say("Draft discarded.");
        return null;
      })
      .catch(function () {
        say("The draft was not discarded: no connection.", true);
      });
  }

  form.addEventListener("input", changed);
  form.addEventListener("change", changed);
  form.addEventListener("submit", function (event) {
    var button = event.submitter;
    if (button && button.hasAttribute("data-draft-save")) {
      event.preventDefault();
      save(false);
    } else if (button && button.hasAttribute("data-draft-discard")) {
      event.preventDefault();
      discard();
    } else {
      // Posting: the server removes the draft with the entry (or keeps it if it refuses).
      submitted = true;
      window.clearTimeout(timer);
    }
  });
  // The idle warning is about to log the user out: keep the last words typed now, while the
  // session still takes them.
  document.addEventListener("careteam:idle-warning", function () {
    save(false);
  });
  // A closed tab, a reload, a phone switching apps.
  window.addEventListener("pagehide", function () {
    save(true);
  });
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") {
      save(true);
    }
  });
})();
