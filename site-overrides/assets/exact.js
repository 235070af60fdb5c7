/* kbgen exact-id search: a query that is exactly a control, risk or test id (or the last
 * segment of an option path) puts that page first in the search results.
 *
 * Why: the search index (lunr) scores words by rarity, and the search box turns the last
 * word into a prefix, so "AC-2" also matches "21" in AC-21, a rarer word than "2", and
 * AC-21 came first. Ids are known exactly (kb/graph-data.js, window.KB_GRAPH), so the page
 * of an exact id is pinned above lunr's results instead of hoping a boost outweighs it.
 * Links come from graph.js (window.KB_PAGE_URL), which loads first. Nothing leaves the
 * page; titles are inserted as text, never as HTML. */
(function () {
  "use strict";

  function key(text) {
    return text.trim().toLowerCase().replace(/\s+/g, " ");
  }

  // Query key -> pages, built once from the graph data.
  var index = null;
  function exactIndex() {
    if (index) return index;
    index = {};
    var data = window.KB_GRAPH;
    if (!data) return index;
    function add(k, node, title) {
      if (!node.page || !k) return;
      (index[k] = index[k] || []).push({ page: node.page, title: title });
    }
    data.nodes.forEach(function (node) {
      if (node.kind === "control" || node.kind === "risk" || node.kind === "test") {
        add(key(node.label), node, node.title ? node.label + " " + node.title : node.label);
      } else if (node.kind === "option") {
        add(key(node.label), node, node.label);
        var last = node.label.split(".").pop();
        if (last !== node.label) add(key(last), node, node.label);
      }
    });
    return index;
  }

  function pinned(hit) {
    var item = document.createElement("li");
    item.className = "md-search-result__item kb-exact";
    var link = document.createElement("a");
    link.className = "md-search-result__link";
    link.href = window.KB_PAGE_URL(hit.page);
    link.tabIndex = -1;
    var article = document.createElement("article");
    article.className = "md-search-result__article md-typeset";
    var heading = document.createElement("h1");
    heading.textContent = hit.title;
    article.appendChild(heading);
    link.appendChild(article);
    item.appendChild(link);
    return item;
  }

  function pin(input, list) {
    list.querySelectorAll(".kb-exact").forEach(function (e) { e.remove(); });
    var hits = exactIndex()[key(input.value)] || [];
    for (var i = hits.length - 1; i >= 0; i--) list.insertBefore(pinned(hits[i]), list.firstChild);
  }

  function start() {
    var input = document.querySelector(".md-search__input");
    var list = document.querySelector(".md-search-result__list");
    if (!input || !list || !window.KB_PAGE_URL) return;
    // Material re-renders the list as results arrive: pin again after each change (with
    // the observer off, so that pinning does not wake it again).
    var observer = new MutationObserver(update);
    function update() {
      observer.disconnect();
      pin(input, list);
      observer.observe(list, { childList: true });
    }
    observer.observe(list, { childList: true });
    input.addEventListener("input", update);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
