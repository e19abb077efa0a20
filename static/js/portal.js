/* Behaviour shared by every page. */
/* Any form marked data-once submits once: a double click does not send it twice. */
document.querySelectorAll("form[data-once]").forEach(function (f) {
  f.addEventListener("submit", function (event) {
    if (f.dataset.sent) { event.preventDefault(); return; }
    f.dataset.sent = "1";
    f.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = true; b.setAttribute("aria-disabled", "true"); });
  });
});
