// The portal's new-ticket page: articles suggested as the requester types (htmx does the
// requests). When the requester opened a suggestion and leaves the page without sending
// the ticket, the server is told with a beacon: a ticket the help center saved.
(function () {
  "use strict";

  function start() {
    var box = document.getElementById("kb-suggestions");
    if (!box || !box.dataset.kbLeft) return;
    var form = box.closest("form");
    var opened = false;
    var sent = false;

    function noteOpen(event) {
      if (event.target.closest && event.target.closest("a[data-kb-suggestion]")) opened = true;
    }
    box.addEventListener("click", noteOpen);
    box.addEventListener("auxclick", noteOpen);
    if (form) form.addEventListener("submit", function () { sent = true; });

    window.addEventListener("pagehide", function () {
      if (!opened || sent || !navigator.sendBeacon) return;
      var data = new FormData();
      var token = form && form.querySelector("input[name=csrfmiddlewaretoken]");
      if (token) data.append("csrfmiddlewaretoken", token.value);
      navigator.sendBeacon(box.dataset.kbLeft, data);
    });
  }

  if (document.readyState !== "loading") start();
  else document.addEventListener("DOMContentLoaded", start);
})();
