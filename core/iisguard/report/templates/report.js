// iisguard HTML report: filters and search, run in the page (no server, no request, no innerHTML).
(function () {
  "use strict";
  var bar = document.getElementById("filters");
  if (!bar) { return; }
  bar.hidden = false;
  var controls = {
    severity: document.getElementById("filter-severity"),
    rule: document.getElementById("filter-rule"),
    host: document.getElementById("filter-host"),
    search: document.getElementById("filter-search")
  };
  var shown = document.getElementById("filter-shown");
  var rows = Array.prototype.slice.call(document.querySelectorAll("main .f"));
  var texts = rows.map(function (row) { return row.textContent.toLowerCase(); });

  function matches(row, i, want) {
    if (want.severity && row.getAttribute("data-severity") !== want.severity) { return false; }
    if (want.rule && (" " + row.getAttribute("data-rule") + " ").indexOf(" " + want.rule + " ") < 0) { return false; }
    if (want.host && row.getAttribute("data-host") !== want.host) { return false; }
    return !want.search || texts[i].indexOf(want.search) >= 0;
  }

  function hideEmpty(selector, childSelector) {
    document.querySelectorAll(selector).forEach(function (box) {
      var visible = box.querySelector(childSelector + ":not(.is-hidden)");
      box.classList.toggle("is-hidden", !visible);
    });
  }

  function apply() {
    var want = {
      severity: controls.severity.value,
      rule: controls.rule.value,
      host: controls.host.value,
      search: controls.search.value.trim().toLowerCase()
    };
    var active = want.severity || want.rule || want.host || want.search;
    var count = 0;
    rows.forEach(function (row, i) {
      var ok = matches(row, i, want);
      row.classList.toggle("is-hidden", !ok);
      if (ok && row.classList.contains("finding")) { count += 1; }
    });
    // Folded rows (a rule's failures past the first few) are opened where they match a filter,
    // and the folds a filter opened close again when it is cleared.
    document.querySelectorAll("main details.more").forEach(function (fold) {
      if (active) {
        var hit = !!fold.querySelector(".f:not(.is-hidden)");
        if (hit && !fold.open) { fold.open = true; fold.setAttribute("data-opened-by-filter", ""); }
        if (!hit && fold.hasAttribute("data-opened-by-filter")) { fold.open = false; }
      } else if (fold.hasAttribute("data-opened-by-filter")) {
        fold.open = false;
        fold.removeAttribute("data-opened-by-filter");
      }
    });
    if (active) {
      hideEmpty("main details.more", ".f");
      hideEmpty("main .rule", ".f");
      hideEmpty("main section.severity", ".rule");
      hideEmpty("main section.apart", ".f");
      hideEmpty("main section.not-reviewed", ".f");
      hideEmpty("main section.errors", ".f");
      document.querySelectorAll("main section.host").forEach(function (host) {
        host.classList.toggle("is-hidden", !!want.host && host.getAttribute("data-host") !== want.host);
      });
    } else {
      document.querySelectorAll("main .is-hidden").forEach(function (el) { el.classList.remove("is-hidden"); });
    }
    var total = document.querySelectorAll("main .finding").length;
    shown.textContent = count + " of " + total + " active failure(s) shown";
    shown.setAttribute("data-shown", String(count));
  }

  Object.keys(controls).forEach(function (key) {
    controls[key].addEventListener(key === "search" ? "input" : "change", apply);
  });
  apply();
})();
