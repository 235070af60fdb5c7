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
  // The one place that turns a page of the compiled tree into a link (exact.js uses it).
  window.KB_PAGE_URL = function (page) { return base() + url(page); };

  var KINDS = { note: "Notes", framework: "Frameworks (controls gathered)", control: "Controls",
                option: "Nix options", test: "Tests", risk: "Residual risks" };

  // The nodes and links to draw. Global view: every node whose kind is ticked; controls
  // are gathered into one node per framework unless a framework is picked.
  function globalGraph(data, kinds, framework) {
    var nodes = [], map = {}, links = {}, out = [];
    function keep(id, node) { if (!(id in map)) { map[id] = nodes.length; nodes.push(node); } return map[id]; }
    data.nodes.forEach(function (n, i) {
      if (n.kind === "control") {
        if (framework && n.framework !== framework) return;
        if (!framework) {
          if (!kinds.control) return;
          var name = (data.frameworks || {})[n.framework] || n.framework;
          map[i] = keep("fw:" + n.framework, { label: name, kind: "framework", page: "kb/frameworks/" + n.framework + ".md" });
          return;
        }
        if (!kinds.control) return;
      } else if (!kinds[n.kind]) return;
      map[i] = keep(i, n);
    });
    data.links.forEach(function (l) {
      var a = map[l[0]], b = map[l[1]];
      if (a === undefined || b === undefined || a === b) return;
      var key = a < b ? a + "," + b : b + "," + a;
      if (!links[key]) { links[key] = true; out.push([a, b]); }
    });
    if (framework) {   // only what the framework's controls reach, and the controls themselves
      var reach = {};
      nodes.forEach(function (n, i) { if (n.kind === "control") reach[i] = true; });
      out.forEach(function (l) { if (nodes[l[0]].kind === "control") reach[l[1]] = true; if (nodes[l[1]].kind === "control") reach[l[0]] = true; });
      return compact(nodes, out, reach);
    }
    var linked = {};                 // a node with no link says nothing here: left out
    out.forEach(function (l) { linked[l[0]] = true; linked[l[1]] = true; });
    return compact(nodes, out, linked);
  }

  function compact(nodes, links, keep) {
    var map = {}, kept = [];
    nodes.forEach(function (n, i) { if (keep[i]) { map[i] = kept.length; kept.push(n); } });
    return { nodes: kept, links: links.filter(function (l) { return keep[l[0]] && keep[l[1]]; })
                                 .map(function (l) { return [map[l[0]], map[l[1]]]; }) };
  }

  // A page's neighbourhood: its node, what links to it and what it links to; for a
  // control or an option one more step outwards, so control -> option -> test shows.
  function localGraph(data, pageUrl) {
    var current = -1;
    data.nodes.forEach(function (n, i) { if (n.page === pageUrl) current = i; });
    if (current < 0) return null;
    var near = {}; near[current] = 0;
    function grow(from, depth) {
      data.links.forEach(function (l) {
        [[0, 1], [1, 0]].forEach(function (d) {
          if (from[l[d[0]]] === depth - 1 && !(l[d[1]] in near)) near[l[d[1]]] = depth;
        });
      });
    }
    grow(near, 1);
    var kind = data.nodes[current].kind;
    if (kind === "control" || kind === "option" || kind === "test") {
      var first = {}; Object.keys(near).forEach(function (k) { if (near[k] === 1 && data.nodes[k].kind !== "note") first[k] = 1; });
      data.links.forEach(function (l) {
        [[0, 1], [1, 0]].forEach(function (d) {
          var other = data.nodes[l[d[1]]];
          if (first[l[d[0]]] && !(l[d[1]] in near) && (other.kind === "option" || other.kind === "test")) near[l[d[1]]] = 2;
        });
      });
    }
    var ids = Object.keys(near).map(Number).sort(function (a, b) { return near[a] - near[b] || a - b; }).slice(0, 120);
    var keep = {}, nodes = [];
    ids.forEach(function (id, i) { keep[id] = i; nodes.push(data.nodes[id]); });
    var links = data.links.filter(function (l) { return l[0] in keep && l[1] in keep; })
                          .map(function (l) { return [keep[l[0]], keep[l[1]]]; });
    return { nodes: nodes, links: links, current: 0 };
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
    var fit = Math.min((width - 2 * pad) / spanX, (height - 2 * pad) / spanY, 3);
    var offX = (width - spanX * fit) / 2, offY = (height - spanY * fit) / 2;
    for (var q = 0; q < count; q++) {
      x[q] = offX + (x[q] - minX) * fit; y[q] = offY + (y[q] - minY) * fit;
    }
    return { x: x, y: y };
  }

  function draw(container, g) {
    container.querySelectorAll("svg").forEach(function (old) { old.remove(); });
    if (!g || g.nodes.length < 2) { if (container.classList.contains("kb-graph-local")) container.remove(); return; }
    var width = container.clientWidth || 600, height = container.clientHeight || 260;
    var pos = layout(g.nodes.length, g.links, width, height);
    var svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", "0 0 " + width + " " + height);
    var root = document.createElementNS(SVG, "g");
    svg.appendChild(root);
    // Under every node, an invisible ring that takes taps near it on a touch screen
    // (kbgen.css sizes it): under all of them, so a tap on a node never goes to a ring.
    var rings = document.createElementNS(SVG, "g");
    var lines = g.links.map(function (l) {
      var line = document.createElementNS(SVG, "line");
      line.setAttribute("x1", pos.x[l[0]]); line.setAttribute("y1", pos.y[l[0]]);
      line.setAttribute("x2", pos.x[l[1]]); line.setAttribute("y2", pos.y[l[1]]);
      root.appendChild(line);
      return line;
    });
    root.appendChild(rings);
    var neighbours = g.nodes.map(function () { return []; });
    g.links.forEach(function (l) { neighbours[l[0]].push(l[1]); neighbours[l[1]].push(l[0]); });
    var few = g.nodes.length <= 30, focused = -1;
    var items = g.nodes.map(function (node, i) {
      var a = document.createElementNS(SVG, "a");
      if (node.page) a.setAttribute("href", base() + url(node.page));
      var c = document.createElementNS(SVG, "circle");
      c.setAttribute("cx", pos.x[i]); c.setAttribute("cy", pos.y[i]);
      var big = i === g.current || node.kind === "framework";
      c.setAttribute("r", big ? 7 : node.kind === "note" ? 4.5 : 3.5);
      c.setAttribute("class", node.kind + (i === g.current ? " current" : ""));
      var title = document.createElementNS(SVG, "title");
      title.textContent = (KINDS[node.kind] || node.kind).replace(/s( \(.*)?$/, "") + ": " + node.label + (node.title ? " — " + node.title : "") + (node.status ? " (" + node.status + ")" : "");
      c.appendChild(title); a.appendChild(c);
      var t = document.createElementNS(SVG, "text");
      t.setAttribute("x", pos.x[i] + 8); t.setAttribute("y", pos.y[i] + 3);
      t.textContent = node.label.length > 32 ? node.label.slice(0, 31) + "…" : node.label;
      a.appendChild(t);
      if (i === g.current || node.kind === "framework" || (few && g.current !== undefined && neighbours[g.current].indexOf(i) >= 0)) a.classList.add("kb-labelled");
      a.addEventListener("click", function (e) {
        if (moved) { e.preventDefault(); return; }
        if (focused !== i) { e.preventDefault(); focus(i); }
      });
      var ring = document.createElementNS(SVG, "circle");
      ring.setAttribute("cx", pos.x[i]); ring.setAttribute("cy", pos.y[i]);
      ring.setAttribute("r", c.getAttribute("r")); ring.setAttribute("class", "kb-hit");
      ring.addEventListener("click", function () {
        if (moved) return;
        if (focused !== i) focus(i);
        else if (node.page) location.href = base() + url(node.page);
      });
      rings.appendChild(ring);
      root.appendChild(a);
      return a;
    });
    function focus(i) {
      focused = i;
      var near = {}; near[i] = true; neighbours[i].forEach(function (j) { near[j] = true; });
      items.forEach(function (a, j) { a.classList.toggle("kb-dim", !near[j]); a.classList.toggle("kb-labelled", !!near[j]); });
      lines.forEach(function (line, k) { var l = g.links[k], hot = l[0] === i || l[1] === i;
        line.classList.toggle("kb-hot", hot); line.classList.toggle("kb-dim", !hot); });
    }
    // Pan with one pointer (mouse, pen or finger), zoom with the wheel or two fingers. On
    // a touch screen the global graph takes every gesture (touch-action: none); a page's
    // small graph leaves vertical swipes to the page, so it never traps the scroll.
    var scale = 1, tx = 0, ty = 0, pointers = {}, moved = false, start = null;
    function apply() { root.setAttribute("transform", "translate(" + tx + "," + ty + ") scale(" + scale + ")"); }
    function zoom(factor, cx, cy) {
      var next = Math.max(0.2, Math.min(8, scale * factor));
      tx = cx - (cx - tx) * next / scale; ty = cy - (cy - ty) * next / scale; scale = next; apply();
    }
    function local(e) { var r = svg.getBoundingClientRect(); return [(e.clientX - r.left) * width / r.width, (e.clientY - r.top) * height / r.height]; }
    svg.addEventListener("wheel", function (e) {
      e.preventDefault(); var p = local(e); zoom(e.deltaY < 0 ? 1.15 : 0.87, p[0], p[1]);
    }, { passive: false });
    svg.addEventListener("pointerdown", function (e) {
      pointers[e.pointerId] = local(e); moved = false; start = local(e);
    });
    svg.addEventListener("pointermove", function (e) {
      if (!(e.pointerId in pointers)) return;
      var p = local(e), ids = Object.keys(pointers);
      if (ids.length === 1) {
        var last = pointers[e.pointerId];
        if (Math.abs(p[0] - start[0]) + Math.abs(p[1] - start[1]) > 4) moved = true;
        if (moved) { tx += p[0] - last[0]; ty += p[1] - last[1]; apply(); }
      } else if (ids.length === 2) {     // pinch to zoom, and move both fingers to pan
        var other = pointers[ids[0] === String(e.pointerId) ? ids[1] : ids[0]], before = pointers[e.pointerId];
        var d0 = Math.hypot(before[0] - other[0], before[1] - other[1]), d1 = Math.hypot(p[0] - other[0], p[1] - other[1]);
        var mx = (p[0] + other[0]) / 2, my = (p[1] + other[1]) / 2;
        if (d0 > 0) zoom(d1 / d0, mx, my);
        tx += (p[0] - before[0]) / 2; ty += (p[1] - before[1]) / 2; apply();
        moved = true;
      }
      pointers[e.pointerId] = p;
    });
    function up(e) { delete pointers[e.pointerId]; }
    svg.addEventListener("pointerup", up); svg.addEventListener("pointercancel", up);
    svg.addEventListener("pointerleave", up);
    container.appendChild(svg);
    container.setAttribute("data-nodes", String(g.nodes.length));
  }

  function tools(container, data) {
    var bar = document.createElement("div"), kinds = {};
    bar.className = "kb-graph-tools";
    bar.setAttribute("aria-label", "Graph legend and filters");
    ["note", "control", "option", "test", "risk"].forEach(function (kind) {
      kinds[kind] = true;
      var label = document.createElement("label"), box = document.createElement("input");
      box.type = "checkbox"; box.checked = true; box.value = kind;
      box.addEventListener("change", function () { kinds[kind] = box.checked; redraw(); });
      var swatch = document.createElement("span"); swatch.className = "kb-swatch " + kind;
      label.appendChild(box); label.appendChild(swatch);
      label.appendChild(document.createTextNode(KINDS[kind]));
      bar.appendChild(label);
    });
    var fw = document.createElement("span"); fw.className = "kb-swatch framework";
    bar.appendChild(fw); bar.appendChild(document.createTextNode("Framework (its controls)"));
    var select = document.createElement("select");
    select.setAttribute("aria-label", "Framework");
    var all = document.createElement("option"); all.value = ""; all.textContent = "All frameworks (controls gathered)";
    select.appendChild(all);
    Object.keys(data.frameworks || {}).forEach(function (f) {
      var o = document.createElement("option"); o.value = f; o.textContent = data.frameworks[f]; select.appendChild(o);
    });
    select.addEventListener("change", redraw);
    bar.appendChild(select);
    container.parentNode.insertBefore(bar, container);
    function redraw() { draw(container, globalGraph(data, kinds, select.value)); }
    redraw();
  }

  function render() {
    var data = window.KB_GRAPH;
    if (!data) return;
    document.querySelectorAll(".kb-graph").forEach(function (container) {
      if (container.getAttribute("data-drawn")) return;
      container.setAttribute("data-drawn", "1");
      if (container.classList.contains("kb-graph-global")) tools(container, data);
      else draw(container, localGraph(data, container.getAttribute("data-page")));
    });
  }

  if (window.document$ && window.document$.subscribe) window.document$.subscribe(render);
  else document.addEventListener("DOMContentLoaded", render);
})();
