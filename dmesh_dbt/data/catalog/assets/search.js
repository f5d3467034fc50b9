// Client-side search over the catalog's index (assets/search-index.js). Registry text is untrusted: results are
// built with textContent and createElement only, never innerHTML.
(function () {
  "use strict";
  var index = window.DMESH_SEARCH || [];
  var root = document.body.getAttribute("data-root") || "";
  var input = document.getElementById("search");
  var list = document.getElementById("search-results");
  if (!input || !list) { return; }
  var LIMIT = 50;

  function matches(query) {
    var terms = query.toLowerCase().split(/\s+/).filter(Boolean);
    var found = [];
    for (var i = 0; i < index.length && found.length < LIMIT; i++) {
      var entry = index[i];
      var text = (entry.n + " " + entry.d).toLowerCase();
      if (terms.every(function (t) { return text.indexOf(t) !== -1; })) { found.push(entry); }
    }
    return found;
  }

  function item(entry) {
    var li = document.createElement("li");
    var kind = document.createElement("span");
    kind.className = "kind";
    kind.textContent = entry.k;
    var link = document.createElement("a");
    link.href = root + entry.u;
    link.textContent = entry.n;
    li.appendChild(kind);
    li.appendChild(link);
    if (entry.d) {
      var desc = document.createElement("span");
      desc.className = "desc";
      desc.textContent = entry.d;
      li.appendChild(desc);
    }
    return li;
  }

  function show() {
    var query = input.value.trim();
    while (list.firstChild) { list.removeChild(list.firstChild); }
    if (!query) { list.hidden = true; return; }
    var found = matches(query);
    if (!found.length) {
      var none = document.createElement("li");
      none.textContent = "Nothing matches " + query;
      list.appendChild(none);
    }
    found.forEach(function (entry) { list.appendChild(item(entry)); });
    list.hidden = false;
  }

  input.addEventListener("input", show);
  input.addEventListener("keydown", function (event) {
    if (event.key === "Escape") { input.value = ""; show(); }
  });
})();
