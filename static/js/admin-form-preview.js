// The live preview on a draft form version's admin page (templates/admin/calls/formversion/change_form.html).
// Without this script "Preview the changes" posts the change form to the preview (calls/preview_views.py)
// in another window. With it, a panel below the button holds a frame named as the button's formtarget,
// so the same submission lands there; once open, the panel is refreshed whenever the form changes.
// Nothing is saved either way: the preview only reads what is posted.
(function () {
  "use strict";

  var row = document.querySelector("[data-form-preview]");
  if (!row) return;
  var button = row.querySelector("button[formtarget]");
  var form = button && button.form;
  if (!form || typeof form.requestSubmit !== "function") return;

  var panel = document.createElement("section");
  panel.className = "module form-preview-panel";
  panel.setAttribute("aria-labelledby", "form-preview-heading");
  panel.hidden = true;
  var heading = document.createElement("h2");
  heading.id = "form-preview-heading";
  heading.textContent = row.dataset.heading;
  var status = document.createElement("p");
  status.className = "help";
  status.setAttribute("role", "status");
  var frame = document.createElement("iframe");
  frame.name = button.getAttribute("formtarget");
  frame.title = row.dataset.frameTitle;
  // Attributes, not style: the policy allows no inline style.
  frame.setAttribute("width", "100%");
  frame.setAttribute("height", "720");
  panel.append(heading, status, frame);
  row.after(panel);
  var help = row.querySelector(".help");
  if (help) help.textContent = row.dataset.help;

  var opened = false;
  var timer = null;

  button.addEventListener("click", function () {
    // The click goes on to submit the form into the frame (found by its name).
    panel.hidden = false;
    opened = true;
  });

  frame.addEventListener("load", function () {
    if (!opened) return;
    status.textContent = row.dataset.updated + " (" + new Date().toLocaleTimeString() + ")";
  });

  function refresh() {
    timer = null;
    form.requestSubmit(button);
  }

  form.addEventListener("change", function () {
    if (!opened) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(refresh, 400);
  });
})();
