/* kbgen graph view: notes and controls as a force-directed graph, drawn in SVG.
 * Data comes from kb/graph-data.js (window.KB_GRAPH), so it works from file:// too.
 * The global view (kb/graph/) shows everything; every other page shows its neighbours. */
(function () {
  "use strict";
  var SVG = "http://www.w3.org/2000/svg";

  function base() {
    var b = window.KB_BASE || ".";
    return b.endsWith("/") ? b : b + "/";
  }

  function url(page) {          // a page of the compiled tree -> its URL on this site
    if (window.KB_DIRECTORY_URLS) {
      if (page === "index.md") return "";
      if (page.endsWith("/index.md")) return page.slice(0, -8);
      return page.slice(0, -3) + "/";
    }
    return page.slice(0, -3) + ".html";
  }

  function subgraph(data, pageUrl) {
    if (pageUrl === null) return { nodes: data.nodes.map(function (n, i) { return i; }), links: data.links };
    var current = -1;
    data.nodes.forEach(function (n, i) { if (n.page === pageUrl) current = i; });
    if (current < 0) return null;
    var keep = {}; keep[current] = true;
    data.links.forEach(function (l) {
      if (l[0] === current) keep[l[1]] = true;
      if (l[1] === current) keep[l[0]] = true;
    });
    var ids = Object.keys(keep).map(Number);
    if (ids.length > 120) ids = ids.slice(0, 120);
    var set = {}; ids.forEach(function (i) { set[i] = true; });
    return { nodes: ids, current: current,
             links: data.links.filter(function (l) { return set[l[0]] && set[l[1]]; }) };
  }

  function layout(count, links, width, height) {
    var x = new Float64Array(count), y = new Float64Array(count);
    var vx = new Float64Array(count), vy = new Float64Array(count);
    for (var i = 0; i < count; i++) {           // deterministic start: a spiral
      var a = i * 2.399963, r = 10 * Math.sqrt(i + 1);
      x[i] = width / 2 + r * Math.cos(a); y[i] = height / 2 + r * Math.sin(a);
    }
    var k = Math.min(Math.sqrt(width * height / Math.max(count, 1)) * (count > 200 ? 1.2 : 0.5),
                     Math.min(width, height) / 3);
    var steps = count > 1500 ? 60 : 200;
    for (var step = 0; step < steps; step++) {
      var t = 1 - step / steps;
      vx.fill(0); vy.fill(0);
      var sample = count > 400 ? 400 : count;   // repulsion against a sample keeps big graphs fast
      for (var i2 = 0; i2 < count; i2++) {
        for (var s = 0; s < sample; s++) {
          var j = count > 400 ? (i2 * 7919 + s * 104729) % count : s;
          if (j === i2) continue;
          var dx = x[i2] - x[j], dy = y[i2] - y[j], d2 = dx * dx + dy * dy + 0.01;
          var f = (k * k / d2) * (count / sample);   // Fruchterman-Reingold: |F| = k^2 / d
          vx[i2] += dx * f; vy[i2] += dy * f;
        }
      }
      links.forEach(function (l) {
        var dx = x[l[1]] - x[l[0]], dy = y[l[1]] - y[l[0]], d = Math.sqrt(dx * dx + dy * dy) + 0.01;
        var f = d * d / k / d;
        vx[l[0]] += dx * f; vy[l[0]] += dy * f; vx[l[1]] -= dx * f; vy[l[1]] -= dy * f;
      });
      for (var n = 0; n < count; n++) {
        var gravity = count > 200 ? 0.02 : 0.002;   // keeps unlinked nodes near the rest
        vx[n] += (width / 2 - x[n]) * gravity; vy[n] += (height / 2 - y[n]) * gravity;
        var v = Math.sqrt(vx[n] * vx[n] + vy[n] * vy[n]) + 0.01, cap = 12 * t + 0.5;
        x[n] += vx[n] / v * Math.min(v, cap); y[n] += vy[n] / v * Math.min(v, cap);
      }
    }
    // Fit the drawing into the box, whatever the forces did.
    var minX = Infinity, maxX = -Infinity, minY = Infinity, maxY = -Infinity;
    for (var m = 0; m < count; m++) {
      minX = Math.min(minX, x[m]); maxX = Math.max(maxX, x[m]);
      minY = Math.min(minY, y[m]); maxY = Math.max(maxY, y[m]);
    }
    var pad = 40, spanX = Math.max(maxX - minX, 1), spanY = Math.max(maxY - minY, 1);
    var fit = Math.min((width - 2 * pad) / spanX, (height - 2 * pad) / spanY, 1.5);
    var offX = (width - spanX * fit) / 2, offY = (height - spanY * fit) / 2;
    for (var q = 0; q < count; q++) {
      x[q] = offX + (x[q] - minX) * fit; y[q] = offY + (y[q] - minY) * fit;
    }
    return { x: x, y: y };
  }

  function draw(container, data, pageUrl) {
    var g = subgraph(data, pageUrl);
    if (!g || g.nodes.length < 2) { container.remove(); return; }
    var width = container.clientWidth || 600, height = container.clientHeight || 260;
    var local = {}; g.nodes.forEach(function (id, i) { local[id] = i; });
    var links = g.links.map(function (l) { return [local[l[0]], local[l[1]]]; });
    var pos = layout(g.nodes.length, links, width, height);
    var svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", "0 0 " + width + " " + height);
    var root = document.createElementNS(SVG, "g");
    svg.appendChild(root);
    links.forEach(function (l) {
      var line = document.createElementNS(SVG, "line");
      line.setAttribute("x1", pos.x[l[0]]); line.setAttribute("y1", pos.y[l[0]]);
      line.setAttribute("x2", pos.x[l[1]]); line.setAttribute("y2", pos.y[l[1]]);
      root.appendChild(line);
    });
    var labels = g.nodes.length <= 80;
    g.nodes.forEach(function (id, i) {
      var node = data.nodes[id];
      var a = document.createElementNS(SVG, "a");
      a.setAttribute("href", base() + url(node.page));
      var c = document.createElementNS(SVG, "circle");
      c.setAttribute("cx", pos.x[i]); c.setAttribute("cy", pos.y[i]);
      c.setAttribute("r", id === g.current ? 7 : 4.5);
      c.setAttribute("class", id === g.current ? "current" : node.kind);
      var title = document.createElementNS(SVG, "title");
      title.textContent = node.label;
      c.appendChild(title); a.appendChild(c);
      if (labels) {
        var t = document.createElementNS(SVG, "text");
        t.setAttribute("x", pos.x[i] + 7); t.setAttribute("y", pos.y[i] + 3);
        t.textContent = node.label.length > 28 ? node.label.slice(0, 27) + "…" : node.label;
        a.appendChild(t);
      }
      root.appendChild(a);
    });
    var scale = 1, tx = 0, ty = 0, drag = null;
    function apply() { root.setAttribute("transform", "translate(" + tx + "," + ty + ") scale(" + scale + ")"); }
    svg.addEventListener("wheel", function (e) {
      e.preventDefault(); scale = Math.max(0.2, Math.min(6, scale * (e.deltaY < 0 ? 1.15 : 0.87))); apply();
    }, { passive: false });
    svg.addEventListener("mousedown", function (e) { drag = [e.clientX - tx, e.clientY - ty]; });
    window.addEventListener("mouseup", function () { drag = null; });
    svg.addEventListener("mousemove", function (e) { if (drag) { tx = e.clientX - drag[0]; ty = e.clientY - drag[1]; apply(); } });
    container.appendChild(svg);
    container.setAttribute("data-nodes", String(g.nodes.length));
  }

  function render() {
    var data = window.KB_GRAPH;
    if (!data) return;
    document.querySelectorAll(".kb-graph").forEach(function (container) {
      if (container.getAttribute("data-drawn")) return;
      container.setAttribute("data-drawn", "1");
      var page = container.classList.contains("kb-graph-global") ? null : container.getAttribute("data-page");
      draw(container, data, page);
    });
  }

  if (window.document$ && window.document$.subscribe) window.document$.subscribe(render);
  else document.addEventListener("DOMContentLoaded", render);
})();
