/* The draft form: autosave while typing and on leaving, a live character count, budget totals.
   Nothing typed is lost: the text stays in the page and in this browser until the server has it,
   and a save the server refuses (conflict, deadline) is kept on the server as well. */
(function () {
  "use strict";
  var form = document.getElementById("application-form");
  if (!form) return;
  var status = document.getElementById("save-status");
  var version = form.querySelector("input[name=version]");
  var csrf = form.querySelector("input[name=csrfmiddlewaretoken]").value;
  // One browser copy per section page (applications/sections.py): each page holds its own fields.
  var storageKey = "kodoku-draft-" + form.dataset.applicationId + (form.dataset.section ? "-" + form.dataset.section : "");
  var dirty = false, saving = false, blocked = false, timer = null, inflight = null;
  var waitForInput = false;  // after a refusal for invalid input, try again only once the member types
  var submitting = false;
  // A file slot's upload (templates/calls/_file_slot.html) goes only with a submit of the page
  // (multipart): the autosave and the browser's copy leave files out.
  var fileInputs = form.querySelectorAll("input[type=file][name]");

  function withoutFiles(data) {
    fileInputs.forEach(function (input) { data.delete(input.name); });
    return data;
  }

  function fileChosen() {
    return Array.prototype.some.call(fileInputs, function (input) { return input.files && input.files.length > 0; });
  }

  function show(text, kind, link) {
    status.className = "alert py-2 " + (kind === "error" ? "alert-danger" : kind === "ok" ? "alert-success" : "alert-light border");
    status.textContent = text + " ";
    if (link) {
      var a = document.createElement("a");
      a.href = link;
      a.textContent = form.dataset.msgCompare;
      status.appendChild(a);
    }
  }

  // The form's content as "name=value&…", without the token and the version (not content).
  function serialise() {
    var params = new URLSearchParams(withoutFiles(new FormData(form)));
    params.delete("csrfmiddlewaretoken");
    params.delete("version");
    return params.toString();
  }

  // A value as the server keeps it: full-width digits and letters made plain, line ends and the
  // spaces around made even, thousands separators dropped from numbers.
  function normal(value) {
    var text = String(value).normalize("NFKC").replace(/\r\n?/g, "\n").trim();
    return /^[\d,]+$/.test(text) ? text.replace(/,/g, "") : text;
  }

  // The fields whose values differ between two serialised contents, each named once by its label.
  function differingFields(a, b) {
    var left = new URLSearchParams(a), right = new URLSearchParams(b), names = [];
    [left, right].forEach(function (params) {
      params.forEach(function (_value, name) { if (names.indexOf(name) === -1) names.push(name); });
    });
    var labels = [];
    names.forEach(function (name) {
      if (name === "csrfmiddlewaretoken" || name === "version") return;
      if (left.getAll(name).map(normal).join("\u0000") === right.getAll(name).map(normal).join("\u0000")) return;
      var field = form.querySelector("[name='" + name + "']");
      var label = "";
      if (field) {
        var fieldset = field.closest("fieldset");
        if (field.labels && field.labels.length && field.type !== "checkbox") label = field.labels[0].textContent;
        else if (fieldset && fieldset.querySelector("legend")) label = fieldset.querySelector("legend").textContent;
        else if (field.labels && field.labels.length) label = field.labels[0].textContent;
        else label = field.getAttribute("aria-label") || "";
        if (/^budget-/.test(name)) label = form.dataset.msgBudget || label;
      }
      label = (label || name).replace(/\s+/g, " ").replace(/\*$/, "").trim();
      if (labels.indexOf(label) === -1) labels.push(label);
    });
    return labels;
  }

  function backup() {
    try {
      localStorage.setItem(storageKey, JSON.stringify({ at: Date.now(), version: version.value, data: serialise() }));
    } catch (e) { /* private mode: the server copy still exists */ }
  }

  function clearErrors() {
    form.querySelectorAll(".is-invalid").forEach(function (el) { el.classList.remove("is-invalid"); });
    form.querySelectorAll(".autosave-error").forEach(function (el) { el.remove(); });
  }

  function markErrors(errors) {
    Object.keys(errors || {}).forEach(function (name) {
      var field = form.querySelector("[name='" + name + "']");
      if (!field) return;
      field.classList.add("is-invalid");
      var note = document.createElement("div");
      note.className = "invalid-feedback d-block autosave-error";
      note.id = field.id + "-autosave-error";
      note.textContent = errors[name].join(" ");
      field.setAttribute("aria-describedby", note.id);
      field.insertAdjacentElement("afterend", note);
    });
  }

  function save(keepalive) {
    if (saving || !dirty) return Promise.resolve();
    saving = true;
    dirty = false;
    show(form.dataset.msgSaving, "info");
    var body = withoutFiles(new FormData(form));
    inflight = fetch(form.action, {
      method: "POST", body: body, credentials: "same-origin", keepalive: !!keepalive,
      headers: { "X-Autosave": "1", "X-CSRFToken": csrf, "Accept": "application/json" }
    }).then(function (response) {
      return response.json().then(function (data) { return { status: response.status, data: data }; });
    }).then(function (result) {
      var data = result.data;
      clearErrors();
      if (data.saved) {
        version.value = data.version;
        blocked = false;
        // Whether the request is over the cap is the server's rule (applications/checks.py); the
        // page only shows its answer.
        var capWarning = document.getElementById("budget-warning");
        if (capWarning && typeof data.over_cap === "boolean") capWarning.classList.toggle("d-none", !data.over_cap);
        if (!dirty) {
          show(data.message, "ok");
          try { localStorage.removeItem(storageKey); } catch (e) { /* ignore */ }
        }
      } else if (result.status === 409) {
        // Never overwrite: the server keeps what was typed (and keeps the latest of it on each
        // further save) and the member chooses on the comparison page.
        blocked = true;
        show(data.message, "error", data.compare_url);
      } else if (result.status === 503) {
        // The database could not be reached: nothing was saved; try again shortly by itself.
        dirty = true;
        show(data.message, "error");
      } else {
        dirty = true;
        waitForInput = true;
        show(data.message, "error");
        markErrors(data.errors);
      }
    }).catch(function () {
      dirty = true;
      show(form.dataset.msgOffline, "error");
    }).finally(function () {
      saving = false;
      if (dirty && !waitForInput) { clearTimeout(timer); timer = setTimeout(save, 1500); }
    });
    return inflight;
  }

  function changed(event) {
    if (event && event.target && event.target.type === "file") {
      // Not for the autosave: the file is sent by a submit button (a notice says so).
      if (!blocked && fileChosen()) show(form.dataset.msgFile, "info");
      return;
    }
    dirty = true;
    waitForInput = false;
    backup();
    if (!blocked) show(form.dataset.msgUnsaved, "info");  // when blocked, the refusal stays in view
    clearTimeout(timer);
    timer = setTimeout(save, 1500);
    updateTotals();
  }
  form.addEventListener("input", changed);
  form.addEventListener("change", changed);
  form.addEventListener("submit", function (event) {
    // 保存する, 前へ, 次へ, タスク一覧へ戻る: the page is saved by this POST, which then goes on.
    // An autosave still under way is let finish first, so this POST carries the version it made.
    if (saving && inflight) {
      event.preventDefault();
      var submitter = event.submitter;
      inflight.then(function () {
        if (submitter && form.requestSubmit) form.requestSubmit(submitter); else form.submit();
      });
      return;
    }
    clearTimeout(timer);
    dirty = false;
    submitting = true;
    // The whole form goes to the server: the copy is marked sent. Once the server holds a newer
    // version than the one it was typed on (saved, or refused and kept on the server), it is dropped.
    try {
      localStorage.setItem(storageKey, JSON.stringify({ at: Date.now(), version: version.value, data: serialise(), sent: true }));
    } catch (e) { /* ignore */ }
  });
  document.addEventListener("visibilitychange", function () { if (document.visibilityState === "hidden") save(true); });
  window.addEventListener("pagehide", function () { save(true); });
  window.addEventListener("beforeunload", function (event) {
    if (dirty) { save(true); event.preventDefault(); event.returnValue = ""; }
    else if (!submitting && fileChosen()) { event.preventDefault(); event.returnValue = ""; }  // a file not uploaded yet
  });
  window.addEventListener("online", function () { if (dirty) save(); });

  // Text kept in this browser from a visit whose last save did not reach the server: offer it back.
  try {
    var kept = JSON.parse(localStorage.getItem(storageKey) || "null");
    var restore = document.getElementById("restore-local");
    // The server holds the same content (a save reached it, a full save reloaded the page): the
    // browser's copy says nothing more, so it is forgotten. Only a copy that really differs is
    // offered back, naming the fields that differ.
    var differing = kept && typeof kept.data === "string" ? differingFields(kept.data, serialise()) : [];
    var overtaken = kept && kept.sent && parseInt(version.value, 10) > parseInt(kept.version, 10);
    if (kept && (!differing.length || overtaken)) {
      localStorage.removeItem(storageKey);
      kept = null;
    }
    if (kept && restore) {
      var list = restore.querySelector("[data-differing-fields]");
      if (list) {
        differing.forEach(function (label) {
          var item = document.createElement("li");
          item.textContent = label;
          list.appendChild(item);
        });
      }
      restore.classList.remove("d-none");
      restore.querySelector("button").addEventListener("click", function () {
        var params = new URLSearchParams(kept.data);
        form.querySelectorAll("input[type=checkbox][name]").forEach(function (box) {
          if (box.name !== "csrfmiddlewaretoken") box.checked = params.getAll(box.name).indexOf(box.value) !== -1;
        });
        params.forEach(function (value, name) {
          if (name === "csrfmiddlewaretoken" || name === "version") return;
          var field = form.querySelector("[name='" + name + "']:not([type=checkbox])");
          if (field) field.value = value;
        });
        restore.classList.add("d-none");
        changed();
      });
    }
  } catch (e) { /* nothing kept */ }
  // Leaving for the preview, an upload or the task list (a link marked data-save-first): save first.
  document.querySelectorAll("#preview-link, #attachment-form, a[data-save-first]").forEach(function (el) {
    el.addEventListener(el.tagName === "FORM" ? "submit" : "click", function (event) {
      if (!dirty) return;
      event.preventDefault();
      save().then(function () { if (el.tagName === "FORM") el.submit(); else window.location = el.href; });
    });
  });

  // Character counter for fields with a limit (the server enforces it at submission).
  form.querySelectorAll("[data-counter-for]").forEach(function (counter) {
    var field = document.getElementById(counter.dataset.counterFor);
    var limit = parseInt(field.dataset.maxLength, 10);
    field.setAttribute("aria-describedby", ((field.getAttribute("aria-describedby") || "") + " " + counter.id).trim());
    function update() {
      var n = Array.from(field.value).length;
      counter.textContent = n + " / " + limit;
      counter.classList.toggle("text-danger", n > limit);
      counter.classList.toggle("fw-bold", n > limit);
    }
    field.addEventListener("input", update);
    update();
  });

  // Budget lines: amount = unit price × quantity; the total is the requested amount.
  var rows = document.getElementById("budget-rows");
  var totalCell = document.getElementById("budget-total");
  var totalForms = form.querySelector("input[name='budget-TOTAL_FORMS']");
  function toInt(text) {
    var normal = (text || "").normalize("NFKC").replace(/[,¥円\s]/g, "");
    return /^\d+$/.test(normal) ? parseInt(normal, 10) : null;
  }
  function yen(n) {
    return document.documentElement.lang === "en" ? "¥" + n.toLocaleString("en") : n.toLocaleString("ja-JP") + "円";
  }
  function updateTotals() {
    if (!rows) return;
    var total = 0;
    rows.querySelectorAll(".budget-row").forEach(function (row) {
      var price = toInt(row.querySelector(".budget-unit-price").value);
      var qty = toInt(row.querySelector(".budget-quantity").value);
      var del = row.querySelector("input[type=checkbox]");
      var cell = row.querySelector(".budget-amount");
      if (price !== null && qty !== null && !(del && del.checked)) {
        cell.textContent = yen(price * qty);
        total += price * qty;
      } else {
        cell.textContent = "";
      }
    });
    totalCell.textContent = yen(total);
  }
  var add = document.getElementById("budget-add");
  if (add) {
    add.addEventListener("click", function () {
      var index = parseInt(totalForms.value, 10);
      var html = document.getElementById("budget-empty-row").innerHTML.replace(/__prefix__/g, index);
      rows.insertAdjacentHTML("beforeend", html);
      totalForms.value = index + 1;
      rows.lastElementChild.querySelector("select").focus();
    });
  }
  updateTotals();
})();

