/* kbgen tables: sort by any column, filter by text and by the values of the Status, Layer,
 * Framework and Severity columns, and label the cells of the residual-risk register so
 * CSS can lay each row out as a card. Plain JavaScript, nothing loaded from anywhere. */
(function () {
  "use strict";
  var FACETS = ["status", "layer", "framework", "severity", "rule"];

  function headers(table) {
    var row = table.tHead && table.tHead.rows[0];
    return row ? Array.prototype.map.call(row.cells, function (c) { return c.textContent.trim(); }) : [];
  }

  function cellText(row, i) {
    var cell = row.cells[i];
    return cell ? cell.textContent.trim() : "";
  }

  function compare(a, b) {       // numbers and ids such as 8.3.10 or AC-17(2) in natural order
    return a.localeCompare(b, undefined, { numeric: true, sensitivity: "base" });
  }

  function makeSortable(table, names) {
    var body = table.tBodies[0];
    table.tHead.rows[0].querySelectorAll("th").forEach(function (th, i) {
      th.classList.add("kb-sortable");
      th.setAttribute("tabindex", "0");
      th.setAttribute("aria-sort", "none");
      th.title = "Sort by " + names[i];
      function sort() {
        var ascending = th.getAttribute("aria-sort") !== "ascending";
        table.tHead.rows[0].querySelectorAll("th").forEach(function (o) { o.setAttribute("aria-sort", "none"); });
        th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (x, y) { var c = compare(cellText(x, i), cellText(y, i)); return ascending ? c : -c; });
        rows.forEach(function (r) { body.appendChild(r); });
      }
      th.addEventListener("click", sort);
      th.addEventListener("keydown", function (e) { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sort(); } });
    });
  }

  function makeFilter(table, names) {
    var body = table.tBodies[0];
    var bar = document.createElement("div");
    bar.className = "kb-table-filter";
    var input = document.createElement("input");
    input.type = "search";
    input.placeholder = "Filter " + body.rows.length + " rows";
    input.setAttribute("aria-label", "Filter the table");
    bar.appendChild(input);
    var selects = [];
    names.forEach(function (name, i) {
      if (FACETS.indexOf(name.toLowerCase()) < 0) return;
      var values = {};
      Array.prototype.forEach.call(body.rows, function (r) { var v = cellText(r, i); if (v) values[v] = true; });
      var keys = Object.keys(values).sort(compare);
      if (keys.length < 2 || keys.length > 40) return;
      var select = document.createElement("select");
      select.setAttribute("aria-label", name);
      select.dataset.column = String(i);
      var all = document.createElement("option");
      all.value = ""; all.textContent = name + ": all";
      select.appendChild(all);
      keys.forEach(function (k) { var o = document.createElement("option"); o.value = k; o.textContent = k; select.appendChild(o); });
      bar.appendChild(select);
      selects.push(select);
    });
    var count = document.createElement("span");
    count.className = "kb-table-count";
    bar.appendChild(count);
    function apply() {
      var words = input.value.toLowerCase().split(/\s+/).filter(Boolean), shown = 0;
      Array.prototype.forEach.call(body.rows, function (r) {
        var text = r.textContent.toLowerCase();
        var ok = words.every(function (w) { return text.indexOf(w) >= 0; }) &&
          selects.every(function (s) { return !s.value || cellText(r, Number(s.dataset.column)) === s.value; });
        r.hidden = !ok;
        if (ok) shown++;
      });
      count.textContent = shown === body.rows.length ? "" : shown + " of " + body.rows.length + " rows";
    }
    input.addEventListener("input", apply);
    selects.forEach(function (s) { s.addEventListener("change", apply); });
    var anchor = table.closest(".md-typeset__scrollwrap") || table;
    anchor.parentNode.insertBefore(bar, anchor);
  }

  function enhance(table) {
    if (table.dataset.kbDone || !table.tHead || !table.tBodies.length) return;
    table.dataset.kbDone = "1";
    var names = headers(table);
    if (table.closest(".kb-register")) {          // each row becomes a card: label its cells
      Array.prototype.forEach.call(table.tBodies[0].rows, function (r) {
        Array.prototype.forEach.call(r.cells, function (c, i) { c.setAttribute("data-label", names[i] || ""); });
      });
      return;
    }
    if (names[0] === "Control" || (names[0] === "Framework" && names[1] === "Control")) {
      table.setAttribute("data-kb-table", "matrix");   // a class would drop Material's table style
    }
    if (names[names.length - 1] === "Message") table.setAttribute("data-kb-table", "findings");
    if (table.tBodies[0].rows.length < 8) return;
    makeSortable(table, names);
    makeFilter(table, names);
  }

  // Option paths may break after their dots (never inside a word): a <wbr> after each dot.
  var PATH = /^[\w<>"'/-]+(\.[\w<>"'/-]+){2,}$/;
  function breakPaths() {
    document.querySelectorAll("article code").forEach(function (code) {
      if (code.dataset.kbWbr || code.children.length || !PATH.test(code.textContent)) return;
      code.dataset.kbWbr = "1";
      var parts = code.textContent.split(".");
      code.textContent = "";
      parts.forEach(function (part, i) {
        code.appendChild(document.createTextNode(part + (i < parts.length - 1 ? "." : "")));
        if (i < parts.length - 1) code.appendChild(document.createElement("wbr"));
      });
    });
  }

  // Source pages: the line an option or test links to (#__codelineno-0-N) is highlighted,
  // its number and every piece of code up to the next line's anchor.
  function markLine() {
    document.querySelectorAll(".kb-line-target").forEach(function (e) { e.classList.remove("kb-line-target"); });
    var id = decodeURIComponent(location.hash.slice(1));
    if (id.indexOf("__codelineno-") !== 0) return;
    var anchor = document.getElementById(id);
    if (!anchor) return;
    var number = document.querySelector('.linenos a[href="#' + id + '"]');
    if (number) number.classList.add("kb-line-target");
    for (var node = anchor.nextSibling; node && !(node.id && node.id.indexOf("__codelineno-") === 0); node = node.nextSibling) {
      if (node.nodeType === 3 && node.textContent.trim()) {
        var span = document.createElement("span");
        node.parentNode.insertBefore(span, node); span.appendChild(node); node = span;
      }
      if (node.nodeType === 1) node.classList.add("kb-line-target");
    }
  }
  window.addEventListener("hashchange", markLine);

  function render() {
    markLine();
    breakPaths();
    document.querySelectorAll(".md-typeset table").forEach(enhance);
  }

  if (window.document$ && window.document$.subscribe) window.document$.subscribe(render);
  else document.addEventListener("DOMContentLoaded", render);
})();
