/* Admin, periodic task form (django-celery-beat): show the chosen crontab in words under the
   crontab field. Replaces the package's inline script, which the Content-Security-Policy blocks. */
(function () {
  "use strict";
  var self = document.getElementById("periodic-task-overrides");
  var data = document.getElementById("readable-crontabs");
  if (!self || !data) return;
  var readable = JSON.parse(data.textContent);
  var originalHelp = self.dataset.crontabHelp || "";
  function ready() {
    var translation = document.querySelector(".field-crontab_translation");
    if (translation) translation.hidden = true;
    var select = document.getElementById("id_crontab");
    var help = document.querySelector(".field-crontab .help");
    if (!select || !help) return;
    select.addEventListener("change", function () {
      help.textContent = originalHelp;
      var words = readable[select.value];
      if (words) {
        help.appendChild(document.createElement("br"));
        help.appendChild(document.createTextNode("Translation: " + words));
      }
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", ready);
  else ready();
})();
