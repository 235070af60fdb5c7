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

  function rowsOf(tables) {
    var rows = [];
    tables.forEach(function (t) { Array.prototype.push.apply(rows, t.tBodies[0].rows); });
    return rows;
  }

  function isTable(e) {
    return e.tagName === "TABLE" || e.classList.contains("md-typeset__scrollwrap") ||
      e.classList.contains("md-typeset__table");
  }

  // The elements of a table's section on a page of several tables (a framework matrix, the
  // controls of a status, many findings): its heading and what follows it down to the
  // table, hidden together when the filter leaves the table no row.
  function sectionOf(table) {
    var wrap = table.closest(".md-typeset__scrollwrap") || table, parts = [wrap];
    for (var e = wrap.previousElementSibling; e && !e.classList.contains("kb-matrix-filter"); e = e.previousElementSibling) {
      if (isTable(e)) break;
      parts.push(e);
      if (/^H[23]$/.test(e.tagName)) break;
    }
    return parts;
  }

  // A heading over several sections (a framework on a status page) is hidden when the
  // filter hides every table below it.
  function hideEmptyHeadings(slot) {
    var article = slot.closest("article") || document;
    article.querySelectorAll("h2").forEach(function (h) {
      var tables = 0, shown = 0;
      for (var e = h.nextElementSibling; e && e.tagName !== "H2"; e = e.nextElementSibling) {
        if (isTable(e)) { tables++; if (!e.hidden) shown++; }
      }
      if (tables) h.hidden = shown === 0;
    });
  }

  // One filter (text and the Status, Layer, ... columns) over ``tables``, which share
  // their columns: a table, or every family's table of a framework matrix.
  function makeFilter(tables, names, slot) {
    var rows = rowsOf(tables);
    var bar = document.createElement("div");
    bar.className = "kb-table-filter";
    var input = document.createElement("input");
    input.type = "search";
    input.placeholder = "Filter " + rows.length + " rows";
    input.setAttribute("aria-label", "Filter the table");
    bar.appendChild(input);
    var selects = [];
    names.forEach(function (name, i) {
      if (FACETS.indexOf(name.toLowerCase()) < 0) return;
      var values = {};
      rows.forEach(function (r) { var v = cellText(r, i); if (v) values[v] = true; });
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
    var sections = tables.length > 1 ? tables.map(sectionOf) : [];
    function apply() {
      var words = input.value.toLowerCase().split(/\s+/).filter(Boolean), shown = 0;
      tables.forEach(function (table, t) {
        var here = 0;
        Array.prototype.forEach.call(table.tBodies[0].rows, function (r) {
          var text = r.textContent.toLowerCase();
          var ok = words.every(function (w) { return text.indexOf(w) >= 0; }) &&
            selects.every(function (s) { return !s.value || cellText(r, Number(s.dataset.column)) === s.value; });
          r.hidden = !ok;
          if (ok) here++;
        });
        if (sections.length) sections[t].forEach(function (e) { e.hidden = here === 0; });
        shown += here;
      });
      if (slot && sections.length) hideEmptyHeadings(slot);
      count.textContent = shown === rows.length ? "" : shown + " of " + rows.length + " rows";
    }
    input.addEventListener("input", apply);
    selects.forEach(function (s) { s.addEventListener("change", apply); });
    if (slot) { slot.appendChild(bar); return; }
    var anchor = tables[0].closest(".md-typeset__scrollwrap") || tables[0];
    anchor.parentNode.insertBefore(bar, anchor);
  }

  function enhance(table, shared) {
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
    if (shared) {
      if (table.tBodies[0].rows.length > 1) makeSortable(table, names);
      shared.push(table);
      return;
    }
    if (table.tBodies[0].rows.length < 8) return;
    makeSortable(table, names);
    makeFilter([table], names, null);
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
  // The "View source" link of a source page follows the line (#L12 in a repository browser).
  function markLine() {
    document.querySelectorAll(".kb-line-target").forEach(function (e) { e.classList.remove("kb-line-target"); });
    var id = decodeURIComponent(location.hash.slice(1));
    var line = /^__codelineno-\d+-(\d+)$/.exec(id);
    document.querySelectorAll("a.kb-source[data-kb-view]").forEach(function (a) {
      var file = a.getAttribute("href").split("#")[0];
      a.setAttribute("href", line ? file + "#L" + line[1] : file);
    });
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
    // A page of several tables that share their columns (a framework matrix, a status, many
    // findings: every table after its .kb-matrix-filter) gets one filter for them all.
    var slot = document.querySelector(".kb-matrix-filter:not([data-kb-done])");
    var shared = slot ? [] : null;
    document.querySelectorAll(".md-typeset table").forEach(function (t) { enhance(t, shared); });
    if (slot && shared.length) {
      slot.setAttribute("data-kb-done", "1");
      makeFilter(shared, headers(shared[0]), slot);
    }
  }

  if (window.document$ && window.document$.subscribe) window.document$.subscribe(render);
  else document.addEventListener("DOMContentLoaded", render);
})();
