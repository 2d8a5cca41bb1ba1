// Idle logoff warning. The server ends a session after SESSION_IDLE_TIMEOUT without a
// request whatever this script does; the script only says so beforehand. <body> carries
// data-idle-logoff-in (seconds the session has left, from the server), data-idle-warning
// (how long before the end to warn), data-keepalive-url and data-login-url.
// Tabs of the same session share their deadline through localStorage, so activity in one
// tab keeps the others from warning or leaving.
// Typing in a form is activity: a keep-alive goes out at most once per ACTIVITY_MS (a
// minute) while the user types, and once more after the last keystroke of a burst, so a
// long note never ends in a logoff. When the warning opens, the dialog itself takes the focus,
// never its buttons: keys typed as it appears (Enter, space) press nothing; the user
// chooses with a click, Tab, or Escape (which means "Stay logged in").
// The page hears "careteam:idle-warning" on document as the warning opens (drafts.js
// saves the text being written then, while the session still takes it).
(function () {
  "use strict";
  var STORAGE_KEY = "careteam.idle-deadline";
  // Go to the login page a little after the server's deadline, when the session is surely over.
  var MARGIN_MS = 2000;

  var body = document.body;
  var dialog = document.getElementById("idle-warning");
  if (!body || !dialog || !body.hasAttribute("data-idle-logoff-in")) {
    return;
  }
  var logoffIn = parseInt(body.getAttribute("data-idle-logoff-in"), 10);
  var warnMs = parseInt(body.getAttribute("data-idle-warning"), 10) * 1000;
  var idleMs = parseInt(body.getAttribute("data-idle-timeout"), 10) * 1000;
  // Once a minute; with a short idle timeout (tests), often enough that the last keystroke
  // is reported well before the warning could open.
  var ACTIVITY_MS = 60000;
  if (!isNaN(idleMs) && idleMs > warnMs) {
    ACTIVITY_MS = Math.max(1000, Math.min(ACTIVITY_MS, idleMs / 4, (idleMs - warnMs) / 2));
  }
  var keepaliveUrl = body.getAttribute("data-keepalive-url");
  var loginUrl = body.getAttribute("data-login-url");
  if (isNaN(logoffIn) || isNaN(warnMs) || !keepaliveUrl || !loginUrl) {
    return;
  }
  var stay = dialog.querySelector("[data-idle-stay]");
  var countdown = dialog.querySelector("[data-idle-countdown]");
  var tokenInput = dialog.querySelector('input[name="csrf_token"]');
  var deadline = Date.now() + logoffIn * 1000;
  var returnFocus = null;
  var leaving = false;
  var lastActivityPing = 0;
  var activityTimer = null;

  function readShared() {
    try {
      return parseInt(window.localStorage.getItem(STORAGE_KEY), 10) || 0;
    } catch (e) {
      return 0;
    }
  }

  function share(value) {
    try {
      window.localStorage.setItem(STORAGE_KEY, String(value));
    } catch (e) {
      // Private mode or storage off: each tab keeps its own deadline.
    }
  }

  // Another tab's later deadline is the same session's, seen after more recent activity.
  function adopt(value) {
    if (value > deadline) {
      deadline = value;
    }
  }

  function isOpen() {
    return dialog.hasAttribute("open");
  }

  function open() {
    if (isOpen()) {
      return;
    }
    returnFocus = document.activeElement;
    if (typeof dialog.showModal === "function") {
      dialog.showModal();
    } else {
      dialog.setAttribute("open", "");
    }
    // showModal() focuses the first button: take the focus to the dialog itself, so that
    // the Enter or space of someone still typing does not answer it for them.
    dialog.focus();
    try {
      document.dispatchEvent(new CustomEvent("careteam:idle-warning"));
    } catch (e) {
      // No CustomEvent (very old browser): nothing listens for it then either.
    }
  }

  function close() {
    if (!isOpen()) {
      return;
    }
    if (typeof dialog.close === "function") {
      dialog.close();
    } else {
      dialog.removeAttribute("open");
    }
    if (returnFocus && typeof returnFocus.focus === "function") {
      returnFocus.focus();
    }
  }

  // To the login page, which leads back here after the login (a form restores its draft).
  function leave() {
    if (!leaving) {
      leaving = true;
      var here = window.location.pathname + window.location.search;
      var glue = loginUrl.indexOf("?") < 0 ? "?" : "&";
      window.location.assign(loginUrl + glue + "next=" + encodeURIComponent(here));
    }
  }

  function showRemaining(ms) {
    var seconds = Math.max(0, Math.ceil(ms / 1000));
    var rest = seconds % 60;
    if (countdown) {
      countdown.textContent = Math.floor(seconds / 60) + ":" + (rest < 10 ? "0" : "") + rest;
    }
  }

  // A one-second tick rather than long timers: it stays right after the computer sleeps.
  function tick() {
    adopt(readShared());
    var left = deadline - Date.now();
    if (left <= -MARGIN_MS) {
      leave();
    } else if (left <= warnMs) {
      showRemaining(left);
      open();
    } else {
      close();
    }
  }

  function keepAlive() {
    if (!window.fetch || !tokenInput) {
      // No fetch: a page load is activity too.
      window.location.reload();
      return;
    }
    fetch(keepaliveUrl, {
      method: "POST",
      credentials: "same-origin",
      redirect: "manual",
      headers: { "X-CSRFToken": tokenInput.value, "Accept": "application/json" }
    })
      .then(function (response) {
        if (response.status !== 204) {
          leave();
          return;
        }
        var left = parseInt(response.headers.get("X-Session-Expires-In"), 10);
        deadline = Date.now() + (isNaN(left) ? logoffIn : left) * 1000;
        share(deadline);
        close();
      })
      .catch(function () {
        // The network failed: keep the warning up; the server decides in the end.
      });
  }

  function pingForActivity() {
    activityTimer = null;
    lastActivityPing = Date.now();
    // Once the warning is open only the user's deliberate choice keeps the session.
    if (!isOpen() && !leaving && window.fetch && tokenInput) {
      keepAlive(); // never its reload fallback: that would throw away what is being typed
    }
  }

  // Typing in any form field is activity (see the top of this file).
  function typed(event) {
    var target = event.target;
    if (leaving || isOpen() || !target || !target.form) {
      return;
    }
    var wait = lastActivityPing + ACTIVITY_MS - Date.now();
    if (wait <= 0) {
      // A keystroke can arrive as the pending timer comes due: one ping, not two.
      if (activityTimer !== null) {
        window.clearTimeout(activityTimer);
      }
      pingForActivity();
    } else if (activityTimer === null) {
      activityTimer = window.setTimeout(pingForActivity, wait);
    }
  }

  if (stay) {
    stay.addEventListener("click", keepAlive);
  }
  document.addEventListener("input", typed, true);
  // Escape closes a modal dialog: take it as "Stay logged in", never as a silent dismissal.
  dialog.addEventListener("cancel", function (event) {
    event.preventDefault();
    keepAlive();
  });
  window.addEventListener("storage", function (event) {
    if (event.key === STORAGE_KEY) {
      tick();
    }
  });
  adopt(readShared());
  share(deadline);
  tick();
  window.setInterval(tick, 1000);
})();
