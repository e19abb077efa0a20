// Shows and hides the conditional fields of a call's application form (templates/calls/_schema_section.html).
// Without this script every field is shown and the server decides which ones count
// (calls/form_builder.py); with it, a field whose condition fails is hidden as the applicant answers.
// Its input stays in the page (and the stored answer on the server): hiding never loses an answer.
(function () {
  "use strict";

  function valuesOf(root, prefix, key) {
    var name = prefix ? prefix + "-" + key : key;
    var inputs = root.querySelectorAll('[name="' + name + '"]');
    var values = [];
    inputs.forEach(function (input) {
      if (input.type === "radio" || input.type === "checkbox") {
        if (input.checked) values.push(input.value);
      } else if (input.value !== "") {
        values.push(input.value);
      }
    });
    return values;
  }

  function normaliseNumber(text) {
    var ascii = text.normalize("NFKC").replace(/[,¥\\円\s]/g, "");
    return /^[0-9]+$/.test(ascii) ? String(parseInt(ascii, 10)) : null;
  }

  function holds(operator, expected, values) {
    if (!values.length) return false;
    if (operator === "includes") return values.indexOf(expected) !== -1;
    var actual = values[0];
    if (actual === expected) return true;
    var left = normaliseNumber(actual);
    return left !== null && left === normaliseNumber(expected);
  }

  function refresh(form) {
    var shown = {};
    form.querySelectorAll(".schema-section").forEach(function (section) {
      section.querySelectorAll(".schema-field").forEach(function (wrapper) {
        var key = wrapper.getAttribute("data-key");
        var target = wrapper.getAttribute("data-condition-field");
        var visible = true;
        if (target) {
          var targetWrapper = form.querySelector('.schema-field[data-key="' + target + '"]');
          if (targetWrapper) {
            visible = shown[target] === true &&
              holds(wrapper.getAttribute("data-condition-operator"), wrapper.getAttribute("data-condition-value"),
                valuesOf(form, targetWrapper.closest(".schema-section").getAttribute("data-schema-prefix"), target));
          } else {
            // The field it depends on is in another section: the server's verdict stands.
            visible = !wrapper.classList.contains("schema-field-hidden");
          }
        }
        shown[key] = visible;
        wrapper.hidden = !visible;
      });
    });
  }

  document.querySelectorAll(".schema-section").forEach(function (section) {
    var form = section.closest("form") || section.parentElement;
    if (form.dataset.schemaBound) return;
    form.dataset.schemaBound = "1";
    refresh(form);
    form.addEventListener("input", function () { refresh(form); });
    form.addEventListener("change", function () { refresh(form); });
  });
})();
