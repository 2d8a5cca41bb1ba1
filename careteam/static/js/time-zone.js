// Fills a login form's hidden time_zone field with the browser's IANA time zone, so that
// a new account shows times where its person is. The server checks the name (zoneinfo)
// and uses it only while the account is still in the deployment's default zone; without
// this script the default stays until the person chooses a zone in Settings.
(function () {
  "use strict";
  var zone = "";
  try {
    zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
  } catch (error) {
    return;
  }
  var fields = document.querySelectorAll("input[data-browser-time-zone]");
  for (var i = 0; i < fields.length; i += 1) {
    fields[i].value = zone;
  }
})();
