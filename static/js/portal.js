/* Behaviour shared by every page. */
/* Any form marked data-once submits once: a double click does not send it twice. */
document.querySelectorAll("form[data-once]").forEach(function (f) {
  f.addEventListener("submit", function (event) {
    if (f.dataset.sent) { event.preventDefault(); return; }
    f.dataset.sent = "1";
    f.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = true; b.setAttribute("aria-disabled", "true"); });
  });
});

/* A table wider than its box scrolls sideways inside .table-responsive: while it does, the box
   takes the keyboard focus (the arrow keys then scroll it) and is a region named after its table's
   caption or its section's heading (WCAG 2.1.1; axe's scrollable-region-focusable). A box that fits
   is left out of the tab order again. */
(function () {
  var script = document.currentScript;
  var fallback = (script && script.dataset.scrollLabel) || "";

  function nameOf(box) {
    var caption = box.querySelector("caption");
    if (caption && caption.textContent.trim()) return caption.textContent.trim();
    var labelled = box.closest("[aria-labelledby]");
    var heading = labelled && document.getElementById(labelled.getAttribute("aria-labelledby"));
    if (heading && heading.textContent.trim()) return heading.textContent.trim();
    return fallback;
  }

  function update() {
    document.querySelectorAll(".table-responsive").forEach(function (box) {
      var scrolls = box.scrollWidth > box.clientWidth + 1;
      if (scrolls && !box.hasAttribute("tabindex")) {
        box.setAttribute("tabindex", "0");
        box.setAttribute("role", "region");
        box.dataset.scrollFocus = "1";
        if (!box.hasAttribute("aria-label") && nameOf(box)) {
          box.setAttribute("aria-label", nameOf(box));
          box.dataset.scrollFocus = "named";
        }
      } else if (!scrolls && box.dataset.scrollFocus) {
        box.removeAttribute("tabindex");
        box.removeAttribute("role");
        if (box.dataset.scrollFocus === "named") box.removeAttribute("aria-label");
        delete box.dataset.scrollFocus;
      }
    });
  }

  var pending = null;
  window.addEventListener("resize", function () {
    if (pending) window.cancelAnimationFrame(pending);
    pending = window.requestAnimationFrame(update);
  });
  update();
})();
