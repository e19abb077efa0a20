/* lg: the organisation profile asks a local government for its 団体コード and department, and
   every other body for its prefecture, 法人番号 and representative. Without this script every
   field is shown and the server decides (applications/forms.py OrganisationForm.clean). */
(function () {
  var form = document.querySelector("form[data-local-government-types]");
  if (!form) { return; }
  var types = form.getAttribute("data-local-government-types").split(",").filter(Boolean);
  var select = form.querySelector("select[name=applicant_type]");
  if (!select) { return; }
  var localOnly = ["local_government_code", "department"];
  var othersOnly = ["corporate_number", "prefecture", "representative_title", "representative_name"];
  function show(names, visible) {
    names.forEach(function (name) {
      var block = document.getElementById("div_id_" + name);
      if (block) { block.hidden = !visible; }
    });
  }
  function update() {
    var local = types.indexOf(select.value) !== -1;
    show(localOnly, local);
    show(othersOnly, !local);
  }
  select.addEventListener("change", update);
  update();
})();
