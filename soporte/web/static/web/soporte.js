// Small enhancements; every page works without them.
(function () {
  "use strict";

  function onReady(fn) {
    if (document.readyState !== "loading") fn();
    else document.addEventListener("DOMContentLoaded", fn);
  }

  onReady(function () {
    // Selects marked data-autosubmit submit their form on change (language switch).
    document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      select.addEventListener("change", function () { select.form.submit(); });
    });

    // "Select all" checkbox in ticket lists.
    document.addEventListener("change", function (event) {
      var box = event.target;
      if (box.matches && box.matches("[data-select-all]")) {
        box.closest("table").querySelectorAll("tbody input[type=checkbox]").forEach(function (b) {
          b.checked = box.checked;
        });
      }
    });

    // Canned responses: insert the chosen text into the composer.
    document.querySelectorAll("select[data-canned-target]").forEach(function (select) {
      select.addEventListener("change", function () {
        var target = document.getElementById(select.dataset.cannedTarget);
        if (target && select.value) {
          target.value = (target.value ? target.value + "\n\n" : "") + select.value;
          target.focus();
        }
        select.value = "";
      });
    });
  });

  // Keyboard shortcuts, ignored while typing in a field.
  var pending = "";
  document.addEventListener("keydown", function (event) {
    var t = event.target;
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (t.closest && t.closest("input, textarea, select, [contenteditable]")) return;
    var key = event.key;
    if (pending === "g") {
      pending = "";
      if (key === "t") { location.href = "/desk/tickets/"; }
      return;
    }
    if (key === "g") { pending = "g"; return; }
    var rows = Array.prototype.slice.call(document.querySelectorAll("[data-keyboard-list] tbody tr"));
    var current = document.querySelector("[data-keyboard-list] tbody tr.current");
    var index = rows.indexOf(current);
    function select(i) {
      if (!rows.length) return;
      i = Math.max(0, Math.min(rows.length - 1, i));
      if (current) current.classList.remove("current");
      rows[i].classList.add("current");
      var link = rows[i].querySelector("a");
      if (link) link.focus();
    }
    if (key === "j") { select(index + 1); event.preventDefault(); }
    else if (key === "k") { select(index - 1); event.preventDefault(); }
    else if (key === "r" || key === "n") {
      var kind = document.querySelector("input[name=kind][value=" + (key === "r" ? "reply" : "note") + "]");
      var body = document.getElementById("body");
      if (kind && body) { kind.checked = true; body.focus(); event.preventDefault(); }
    } else if (key === "a" || key === "]") {
      var target = document.querySelector("[data-shortcut='" + key + "']");
      if (target) { target.click(); event.preventDefault(); }
    }
  });
})();
