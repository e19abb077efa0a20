/* The remaining count under every text field with a maximum length ("N characters left") as
   the person types, in an aria-live="polite" element tied to the field by aria-describedby. The sentences
   come from this script tag's data- attributes (rendered by base.html in the user's language),
   never from this file. Characters are counted as the server counts them: by code point, a line
   break as one (the server turns CRLF into LF). A text area shows its count always; a one-line
   field (a name, an e-mail address) only while it has the focus or when less than a fifth of its
   limit is left, so a form of short fields is not a column of "320 characters left" (hidden,
   its line kept, so the layout does not move as the focus does). A field opts
   out with data-no-count; a field that already has its own counter (data-counter-for) is left to it. */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script) return;
  var remainingText = script.dataset.remaining;
  var overText = script.dataset.over || remainingText;
  if (!remainingText) return;
  var selector = "textarea[maxlength], input[maxlength]:not([type=hidden]):not([type=password])" +
    ":not([type=checkbox]):not([type=radio]):not([type=file])";

  function length(value) {
    return Array.from(value.replace(/\r\n/g, "\n")).length;
  }

  function attach(field) {
    if (field.dataset.noCount !== undefined || field.dataset.charCount === "on") return;
    if (field.id && document.querySelector("[data-counter-for='" + field.id + "']")) return;
    var limit = parseInt(field.getAttribute("maxlength"), 10);
    if (!(limit > 0)) return;
    field.dataset.charCount = "on";
    var counter = document.createElement("div");
    counter.className = "form-text char-count";
    counter.setAttribute("aria-live", "polite");
    counter.id = (field.id || field.name || "field") + "-char-count";
    field.setAttribute("aria-describedby", ((field.getAttribute("aria-describedby") || "") + " " + counter.id).trim());
    var after = field.nextElementSibling && field.nextElementSibling.classList.contains("invalid-feedback")
      ? field.nextElementSibling : field;
    after.insertAdjacentElement("afterend", counter);
    var timer = null;
    var oneLine = field.tagName !== "TEXTAREA";
    function update() {
      var left = limit - length(field.value);
      var quiet = oneLine && document.activeElement !== field && left > limit / 5;
      var text = (left >= 0 ? remainingText : overText).replace("{count}", String(Math.abs(left)));
      if (counter.textContent !== text) counter.textContent = text;
      // Hidden, not emptied: the line keeps its height, so nothing below moves when the focus
      // moves (a button would slip from under a click).
      counter.classList.toggle("invisible", quiet);
      counter.classList.toggle("text-danger", left < 0);
    }
    field.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(update, 150); });
    field.addEventListener("change", update);
    field.addEventListener("focus", update);
    field.addEventListener("blur", update);
    update();
  }

  function attachAll(root) { root.querySelectorAll(selector).forEach(attach); }
  attachAll(document);
  // Rows added later (a budget formset's new line) get their counter too.
  new MutationObserver(function (records) {
    records.forEach(function (record) {
      record.addedNodes.forEach(function (node) {
        if (node.nodeType !== 1) return;
        if (node.matches(selector)) attach(node); else attachAll(node);
      });
    });
  }).observe(document.body, { childList: true, subtree: true });
})();
