/* Staff notices page: poll the progress while notices are being made and sent. */
(function () {
  "use strict";
  var box = document.getElementById("notice-progress");
  if (!box) return;
  var bar = box.querySelector(".progress-bar"), meter = box.querySelector("[role=progressbar]");
  var text = box.querySelector("[data-testid=notice-progress]");
  function poll() {
    fetch(box.dataset.url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (p) {
        bar.style.width = p.percent + "%";
        meter.setAttribute("aria-valuenow", p.percent);
        text.textContent = box.dataset.label.replace("%(sent)s", p.sent).replace("%(total)s", p.total).replace("%(failed)s", p.failed);
        if (p.sent + p.failed < p.total) setTimeout(poll, 1500);
      })
      .catch(function () { setTimeout(poll, 5000); });
  }
  poll();
})();
