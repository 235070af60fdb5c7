/* kbgen hover previews: hovering a link to another page of this site shows that page's
 * title and first paragraph. The page is fetched from the same site; where that is not
 * possible (file://, an error) nothing is shown and the link works as before. Text only:
 * the preview is built with textContent, never from the fetched HTML. */
(function () {
  "use strict";
  var cache = {}, box = null, timer = null;

  function eligible(a) {
    if (location.protocol !== "http:" && location.protocol !== "https:") return false;
    if (!a.href || a.origin !== location.origin || a.hasAttribute("download")) return false;
    if (!/\.html$|\/$/.test(a.pathname) || a.pathname === location.pathname) return false;
    return !a.closest(".md-nav, .md-header, .md-footer, .md-search, .kb-graph, .md-path");
  }

  function summary(html) {
    var doc = new DOMParser().parseFromString(html, "text/html");
    var article = doc.querySelector("article");
    if (!article) return null;
    var h1 = article.querySelector("h1");
    var para = Array.prototype.find.call(article.querySelectorAll("p"), function (p) {
      return p.textContent.trim().length > 20 && !p.closest(".kb-evidence-notice");
    });
    var text = para ? para.textContent.trim().replace(/\s+/g, " ") : "";
    return { title: h1 ? h1.textContent.replace(/¶$/, "").trim() : doc.title,
             text: text.length > 320 ? text.slice(0, 317) + "…" : text };
  }

  function load(url) {
    if (!cache[url]) {
      cache[url] = fetch(url, { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
        .then(summary).catch(function () { return null; });
    }
    return cache[url];
  }

  function hide() { clearTimeout(timer); if (box) box.hidden = true; }

  function show(a) {
    var url = a.href.split("#")[0];
    load(url).then(function (s) {
      if (!s || !a.matches(":hover")) return;
      if (!box) {
        box = document.createElement("div");
        box.className = "kb-preview";
        box.setAttribute("role", "tooltip");
        document.body.appendChild(box);
      }
      box.textContent = "";
      var t = document.createElement("strong"); t.textContent = s.title;
      var p = document.createElement("p"); p.textContent = s.text;
      box.appendChild(t); if (s.text) box.appendChild(p);
      var r = a.getBoundingClientRect();
      box.hidden = false;
      var left = Math.min(window.scrollX + r.left, window.scrollX + document.documentElement.clientWidth - box.offsetWidth - 8);
      var below = r.bottom + box.offsetHeight + 8 < window.innerHeight;
      box.style.left = Math.max(8, left) + "px";
      box.style.top = (window.scrollY + (below ? r.bottom + 6 : r.top - box.offsetHeight - 6)) + "px";
    });
  }

  document.addEventListener("mouseover", function (e) {
    var a = e.target.closest && e.target.closest("article a[href]");
    if (!a || !eligible(a)) return;
    clearTimeout(timer);
    timer = setTimeout(function () { show(a); }, 350);
  });
  document.addEventListener("mouseout", function (e) {
    if (e.target.closest && e.target.closest("article a[href]")) hide();
  });
  document.addEventListener("scroll", hide, { passive: true });
})();
