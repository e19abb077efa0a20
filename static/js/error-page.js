/* nc-nav: the error pages' "back to the previous page" button, shown only when there is one. */
(function () {
  var item = document.querySelector("[data-history-back]");
  if (!item || window.history.length < 2) { return; }
  item.hidden = false;
  item.querySelector("button").addEventListener("click", function () { window.history.back(); });
})();
