// The asset picker on the portal's new-ticket form: with an asset chosen, the form is sent
// to the assets area, which opens the ticket and links the asset in one step.
(function () {
  function wire(offer) {
    var select = offer.querySelector("select");
    var form = offer.closest("form");
    if (!select || !form || form.dataset.assetOffer) return;
    form.dataset.assetOffer = "1";
    var original = form.getAttribute("action") || "";
    function sync() {
      if (select.value) form.setAttribute("action", offer.dataset.action);
      else if (original) form.setAttribute("action", original);
      else form.removeAttribute("action");
    }
    select.addEventListener("change", sync);
    sync();
  }
  function scan() {
    document.querySelectorAll("#asset-offer").forEach(wire);
  }
  document.addEventListener("htmx:afterSettle", scan);
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", scan);
  else scan();
})();
