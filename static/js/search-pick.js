/* Search as you type in a text field with data-search-url (the assignment page: applications by
   receipt number or name, reviewers by name or e-mail). Without this script the field still works:
   the person types receipt numbers or e-mail addresses separated by commas. With it, the word
   being typed (the text after the last comma; the whole value with data-search-single) is sent
   to the JSON view (?q=…, 20 results a page, {results: [{value, label}], has_next, total}) and
   the matches are offered in a list under the field (ARIA combobox with a listbox): arrow keys
   move, Enter or a click takes one (its value replaces the word), Escape closes. The count is
   announced in a polite live region; its sentences come from this script tag's data- attributes
   (rendered in the user's language), never from this file. */
(function () {
  "use strict";
  var script = document.currentScript;
  var texts = script ? script.dataset : {};
  var counter = 0;

  function attach(field) {
    var url = field.dataset.searchUrl;
    if (!url || field.dataset.searchPick === "on") return;
    field.dataset.searchPick = "on";
    var single = field.dataset.searchSingle !== undefined;
    var id = "search-pick-" + (++counter);
    var wrapper = document.createElement("div");
    wrapper.className = "search-pick";
    field.parentNode.insertBefore(wrapper, field);
    wrapper.appendChild(field);
    var list = document.createElement("ul");
    list.id = id + "-list";
    list.className = "search-pick-list list-group";
    list.setAttribute("role", "listbox");
    list.hidden = true;
    wrapper.appendChild(list);
    var status = document.createElement("div");
    status.className = "visually-hidden";
    status.setAttribute("aria-live", "polite");
    wrapper.appendChild(status);
    field.setAttribute("role", "combobox");
    field.setAttribute("aria-autocomplete", "list");
    field.setAttribute("aria-expanded", "false");
    field.setAttribute("aria-controls", list.id);
    var timer = null;
    var active = -1;
    var asked = 0;

    function word() {
      if (single) return field.value.trim();
      var parts = field.value.split(/[,、，]/);
      return parts[parts.length - 1].trim();
    }

    function close() {
      list.hidden = true;
      list.innerHTML = "";
      active = -1;
      field.setAttribute("aria-expanded", "false");
      field.removeAttribute("aria-activedescendant");
    }

    function choose(value) {
      if (single) {
        field.value = value;
      } else {
        var parts = field.value.split(/[,、，]/).map(function (p) { return p.trim(); }).filter(Boolean);
        parts.pop();
        parts.push(value);
        field.value = parts.join(", ") + ", ";
      }
      close();
      field.focus();
    }

    function highlight(index) {
      var items = list.querySelectorAll("[role=option]");
      if (!items.length) return;
      active = (index + items.length) % items.length;
      items.forEach(function (item, i) {
        item.setAttribute("aria-selected", i === active ? "true" : "false");
        item.classList.toggle("active", i === active);
      });
      field.setAttribute("aria-activedescendant", items[active].id);
      items[active].scrollIntoView({ block: "nearest" });
    }

    function show(data) {
      list.innerHTML = "";
      active = -1;
      data.results.forEach(function (result, index) {
        var item = document.createElement("li");
        item.id = id + "-option-" + index;
        item.className = "list-group-item list-group-item-action";
        item.setAttribute("role", "option");
        item.setAttribute("aria-selected", "false");
        item.textContent = result.label;
        item.addEventListener("mousedown", function (event) {
          event.preventDefault();
          choose(result.value);
        });
        list.appendChild(item);
      });
      var found = data.results.length > 0;
      list.hidden = !found;
      field.setAttribute("aria-expanded", found ? "true" : "false");
      status.textContent = found ? (texts.results || "").replace("{count}", data.total) : (texts.noResults || "");
    }

    function search() {
      var q = word();
      if (!q) { close(); return; }
      var mine = ++asked;
      var separator = url.indexOf("?") === -1 ? "?" : "&";
      fetch(url + separator + "q=" + encodeURIComponent(q), {
        credentials: "same-origin",
        headers: { "Accept": "application/json" }
      }).then(function (response) {
        return response.ok ? response.json() : null;
      }).then(function (data) {
        if (data && mine === asked) show(data);
      }).catch(function () { close(); });
    }

    field.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(search, 200);
    });
    field.addEventListener("keydown", function (event) {
      if (list.hidden) return;
      if (event.key === "ArrowDown") { event.preventDefault(); highlight(active + 1); }
      else if (event.key === "ArrowUp") { event.preventDefault(); highlight(active - 1); }
      else if (event.key === "Escape") { event.preventDefault(); close(); }
      else if (event.key === "Enter" && active >= 0) {
        event.preventDefault();
        list.querySelectorAll("[role=option]")[active].dispatchEvent(new MouseEvent("mousedown"));
      }
    });
    field.addEventListener("blur", function () { setTimeout(close, 150); });
  }

  document.querySelectorAll("input[data-search-url]").forEach(attach);
})();
