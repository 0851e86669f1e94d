/* symgraph.d3viz: draws the graph in #graph-data (nodes placed by rank and x in Python).
   Pan (drag), zoom (wheel, pinch, Fit), hover for details, click an op to fold the part of the
   graph that only feeds it, search. window.d3viz exposes the state for scripts and tests. */
(function () {
  "use strict";
  var SVG = "http://www.w3.org/2000/svg";
  var data = JSON.parse(document.getElementById("graph-data").textContent);
  var svg = document.getElementById("graph");
  var viewport = document.getElementById("viewport");
  var edgeLayer = document.getElementById("edges");
  var nodeLayer = document.getElementById("nodes");
  var tooltip = document.getElementById("tooltip");
  var byId = {}, preds = {}, succs = {}, folded = new Set(), hidden = new Set();
  var view = { x: 0, y: 0, k: 1 };

  data.nodes.forEach(function (n) { byId[n.id] = n; preds[n.id] = []; succs[n.id] = []; });
  data.edges.forEach(function (e) {
    preds[e.target].push(e.source);
    succs[e.source].push(e.target);
  });

  function el(name, attrs, parent) {
    var e = document.createElementNS(SVG, name);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  }

  // ------------------------------------------------------------------ header and legend
  document.getElementById("summary").textContent = [data.what].concat(data.summary)
    .join(" · ");
  var legend = document.getElementById("legend");
  [["apply", "op"], ["fused", "fused elementwise kernel"], ["input", "input"],
   ["shared", "shared variable (thick: updated)"], ["constant", "constant"],
   ["output", "output"], ["update", "update"]].forEach(function (p) {
    var span = document.createElement("span");
    var i = document.createElement("i");
    i.style.background = "var(--" + p[0] + ")";
    i.style.borderColor = "var(--" + p[0] + "-line)";
    span.appendChild(i);
    span.appendChild(document.createTextNode(p[1]));
    legend.appendChild(span);
  });
  var hint = document.createElement("span");
  hint.textContent = "drag to pan · wheel to zoom · click an op to fold what only feeds it";
  legend.appendChild(hint);

  // ------------------------------------------------------------------ arrows
  var defs = el("defs", {}, svg);
  [["arrow", ""], ["arrow-hl", ""]].forEach(function (m) {
    var marker = el("marker", { id: m[0], viewBox: "0 0 10 10", refX: 9, refY: 5,
                                markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" },
                    defs);
    el("path", { d: "M0,0 L10,5 L0,10 z" }, marker);
  });

  // ------------------------------------------------------------------ nodes and edges
  data.nodes.forEach(function (n) {
    var g = el("g", { "class": "node kind-" + n.kind + (n.updated ? " updated" : ""),
                      "data-id": n.id }, nodeLayer);
    el("rect", { x: -n.w / 2, y: -n.h / 2, width: n.w, height: n.h,
                 rx: n.kind === "apply" || n.kind === "fused" ? 5 : n.h / 2 }, g);
    el("text", {}, g).textContent = n.label;
    var badge = el("g", { "class": "badge", transform: "translate(" + (n.w / 2) + "," +
                          (-n.h / 2) + ")" }, g);
    el("circle", { r: 10 }, badge);
    el("text", {}, badge);
    badge.style.display = "none";
    n.g = g; n.badge = badge;
    g.addEventListener("mouseenter", function (ev) { showNode(n, ev); });
    g.addEventListener("mousemove", moveTip);
    g.addEventListener("mouseleave", hideTip);
    g.addEventListener("click", function (ev) { ev.stopPropagation(); toggle(n.id); });
  });
  data.edges.forEach(function (e) {
    var g = el("g", { "class": "edge" }, edgeLayer);
    e.hit = el("path", { "class": "hit" }, g);
    e.line = el("path", { "class": "line", "marker-end": "url(#arrow)" }, g);
    if (e.label) { e.text = el("text", {}, g); e.text.textContent = e.label; }
    e.g = g;
    g.addEventListener("mouseenter", function (ev) { showEdge(e, ev); });
    g.addEventListener("mousemove", moveTip);
    g.addEventListener("mouseleave", hideTip);
  });
  var writes = el("g", { "class": "writes" }, edgeLayer);
  // edges into a folded part, drawn to the node that folds it
  var intoFolds = el("g", { "class": "into-fold" }, edgeLayer);

  // ------------------------------------------------------------------ folding
  // fold(n) hides n's ancestors all of whose consumers are hidden too (or n itself)
  function foldSet(id) {
    var anc = new Set(), stack = preds[id].slice();
    while (stack.length) {
      var a = stack.pop();
      if (anc.has(a)) continue;
      anc.add(a);
      preds[a].forEach(function (p) { stack.push(p); });
    }
    var changed = true;
    while (changed) {
      changed = false;
      anc.forEach(function (a) {
        for (var i = 0; i < succs[a].length; i++) {
          var c = succs[a][i];
          if (c !== id && !anc.has(c)) { anc.delete(a); changed = true; return; }
        }
      });
    }
    return anc;
  }
  function foldable(n) { return n.kind !== "input" && n.kind !== "shared" &&
                                n.kind !== "constant" && preds[n.id].length > 0; }
  function toggle(id) {
    var n = byId[id];
    if (!foldable(n)) return;
    if (folded.has(id)) folded.delete(id);
    else if (foldSet(id).size) folded.add(id);
    else return;
    refresh();
    showNode(n);
  }
  var owner = {};  // hidden node -> the folded node standing for it
  function refresh() {
    hidden = new Set();
    owner = {};
    var counts = {};
    folded.forEach(function (id) {
      var set = foldSet(id);
      counts[id] = set.size;
      set.forEach(function (h) { hidden.add(h); owner[h] = id; });
    });
    // a folded node inside another fold is represented by the outer one
    Object.keys(owner).forEach(function (h) {
      var o = owner[h];
      while (hidden.has(o) && owner[o] && owner[o] !== o) o = owner[o];
      owner[h] = o;
    });
    folded.forEach(function (id) { if (hidden.has(id)) folded.delete(id); });
    data.nodes.forEach(function (n) {
      var isFolded = folded.has(n.id);
      n.g.classList.toggle("folded", isFolded);
      n.badge.style.display = isFolded ? "" : "none";
      if (isFolded) n.badge.lastChild.textContent = "+" + counts[n.id];
    });
    draw();
  }

  // ------------------------------------------------------------------ geometry
  // visible ranks are packed so that folding closes the gaps it leaves
  function rankY() {
    var used = new Set();
    data.nodes.forEach(function (n) { if (!hidden.has(n.id)) used.add(n.rank); });
    data.edges.forEach(function (e) {
      if (!hidden.has(e.source) && !hidden.has(e.target))
        e.route.forEach(function (p) { used.add(p[1]); });
    });
    var ranks = Array.from(used).sort(function (a, b) { return a - b; }), y = {};
    ranks.forEach(function (r, i) { y[r] = 30 + i * data.rankGap; });
    return y;
  }
  function curve(points) {
    var d = "M" + points[0][0] + "," + points[0][1];
    for (var i = 1; i < points.length; i++) {
      var a = points[i - 1], b = points[i], m = (a[1] + b[1]) / 2;
      d += " C" + a[0] + "," + m + " " + b[0] + "," + m + " " + b[0] + "," + b[1];
    }
    return d;
  }
  function drawIntoFolds() {
    intoFolds.textContent = "";
    var seen = new Set();
    data.edges.forEach(function (e) {
      if (hidden.has(e.source) || !hidden.has(e.target)) return;
      var a = byId[e.source], b = byId[owner[e.target]];
      if (!b || hidden.has(b.id) || seen.has(a.id + ">" + b.id)) return;
      seen.add(a.id + ">" + b.id);
      el("path", { d: curve([[a.x, a.y + a.h / 2], [b.x, b.y - b.h / 2 - 2]]),
                   "marker-end": "url(#arrow)" }, intoFolds);
    });
  }
  function draw() {
    var y = rankY();
    data.nodes.forEach(function (n) {
      n.y = y[n.rank];
      var show = !hidden.has(n.id);
      n.g.style.display = show ? "" : "none";
      if (show) n.g.setAttribute("transform", "translate(" + n.x + "," + n.y + ")");
    });
    data.edges.forEach(function (e) {
      var a = byId[e.source], b = byId[e.target];
      var show = !hidden.has(a.id) && !hidden.has(b.id);
      e.g.style.display = show ? "" : "none";
      if (!show) return;
      var pts = [[a.x, a.y + a.h / 2]];
      e.route.forEach(function (p) { pts.push([p[0], y[p[1]]]); });
      pts.push([b.x, b.y - b.h / 2 - 2]);
      var d = curve(pts);
      e.line.setAttribute("d", d);
      e.hit.setAttribute("d", d);
      if (e.text) {
        var p = pts.length > 2 ? pts[1] : [(pts[0][0] + pts[1][0]) / 2,
                                           (pts[0][1] + pts[1][1]) / 2];
        e.text.setAttribute("x", p[0] + 4);
        e.text.setAttribute("y", p[1]);
        e.text.setAttribute("text-anchor", "start");
      }
    });
    drawIntoFolds();
  }

  // ------------------------------------------------------------------ zoom and pan
  function apply() {
    viewport.setAttribute("transform",
                          "translate(" + view.x + "," + view.y + ") scale(" + view.k + ")");
  }
  function fit() {
    var box = viewport.getBBox(), w = svg.clientWidth, h = svg.clientHeight;
    if (!box.width || !box.height) return;
    var k = Math.min(w / (box.width + 40), h / (box.height + 40), 1.5);
    view.k = k;
    view.x = (w - box.width * k) / 2 - box.x * k;
    view.y = (h - box.height * k) / 2 - box.y * k;
    apply();
  }
  function zoomAt(px, py, factor) {
    var k = Math.max(0.03, Math.min(8, view.k * factor));
    factor = k / view.k;
    view.x = px - (px - view.x) * factor;
    view.y = py - (py - view.y) * factor;
    view.k = k;
    apply();
  }
  svg.addEventListener("wheel", function (ev) {
    ev.preventDefault();
    var r = svg.getBoundingClientRect();
    zoomAt(ev.clientX - r.left, ev.clientY - r.top, Math.exp(-ev.deltaY * 0.0015));
  }, { passive: false });
  var pointers = new Map(), pinch = null;
  svg.addEventListener("pointerdown", function (ev) {
    if (ev.target.closest && ev.target.closest(".node")) return;
    svg.setPointerCapture(ev.pointerId);
    pointers.set(ev.pointerId, [ev.clientX, ev.clientY]);
    svg.classList.add("panning");
    if (pointers.size === 2) {
      var p = Array.from(pointers.values());
      pinch = Math.hypot(p[0][0] - p[1][0], p[0][1] - p[1][1]);
    }
  });
  svg.addEventListener("pointermove", function (ev) {
    var last = pointers.get(ev.pointerId);
    if (!last) return;
    if (pointers.size === 2 && pinch) {
      pointers.set(ev.pointerId, [ev.clientX, ev.clientY]);
      var p = Array.from(pointers.values()), r = svg.getBoundingClientRect();
      var dist = Math.hypot(p[0][0] - p[1][0], p[0][1] - p[1][1]);
      zoomAt((p[0][0] + p[1][0]) / 2 - r.left, (p[0][1] + p[1][1]) / 2 - r.top, dist / pinch);
      pinch = dist;
      return;
    }
    view.x += ev.clientX - last[0];
    view.y += ev.clientY - last[1];
    pointers.set(ev.pointerId, [ev.clientX, ev.clientY]);
    apply();
  });
  function endPointer(ev) {
    pointers.delete(ev.pointerId);
    if (pointers.size < 2) pinch = null;
    if (!pointers.size) svg.classList.remove("panning");
  }
  svg.addEventListener("pointerup", endPointer);
  svg.addEventListener("pointercancel", endPointer);
  svg.addEventListener("dblclick", fit);
  document.getElementById("fit").addEventListener("click", fit);
  document.getElementById("unfold").addEventListener("click", function () {
    folded.clear();
    refresh();
  });

  // ------------------------------------------------------------------ hover details
  function table(title, rows, hintText) {
    tooltip.textContent = "";
    var h = document.createElement("h2");
    h.textContent = title;
    tooltip.appendChild(h);
    var t = document.createElement("table");
    rows.forEach(function (r) {
      var tr = document.createElement("tr"), th = document.createElement("th"),
          td = document.createElement("td");
      th.textContent = r[0];
      td.textContent = r[1];
      tr.appendChild(th);
      tr.appendChild(td);
      t.appendChild(tr);
    });
    tooltip.appendChild(t);
    if (hintText) {
      var p = document.createElement("div");
      p.className = "hint";
      p.textContent = hintText;
      tooltip.appendChild(p);
    }
    tooltip.hidden = false;
  }
  function moveTip(ev) {
    if (!ev) return;
    var x = ev.clientX + 14, y = ev.clientY + 14, w = tooltip.offsetWidth,
        h = tooltip.offsetHeight;
    if (x + w > window.innerWidth - 4) x = Math.max(4, ev.clientX - w - 14);
    if (y + h > window.innerHeight - 4) y = Math.max(4, ev.clientY - h - 14);
    tooltip.style.left = x + "px";
    tooltip.style.top = y + "px";
  }
  function highlight(ids, on) {
    data.edges.forEach(function (e) {
      var hl = on && (ids.has(e.source) || ids.has(e.target));
      e.g.classList.toggle("hl", hl);
      e.line.setAttribute("marker-end", hl ? "url(#arrow-hl)" : "url(#arrow)");
    });
  }
  function showNode(n, ev) {
    var hintText = "";
    if (foldable(n)) {
      var k = foldSet(n.id).size, nodes = k === 1 ? " node" : " nodes";
      hintText = folded.has(n.id) ? "click to unfold the " + k + " hidden" + nodes
        : (k ? "click to fold the " + k + nodes + " that only feed this one"
           : "nothing feeds only this node");
    }
    table(n.label, n.info, hintText);
    highlight(new Set([n.id]), true);
    if (n.same) {  // the other drawings of the same input, shared variable or constant
      data.nodes.forEach(function (m) { if (m.same === n.same) m.g.classList.add("hl"); });
    }
    // an update and the shared variable it writes point at each other
    writes.textContent = "";
    data.nodes.forEach(function (m) {
      if (m.kind !== "update" || (m.id !== n.id && m.target !== n.id)) return;
      var t = byId[m.target];
      if (hidden.has(t.id) || hidden.has(m.id)) return;
      t.g.classList.add("hl");
      m.g.classList.add("hl");
      var mid = Math.max(m.x, t.x) + 60 + Math.abs(m.y - t.y) * 0.15;
      el("path", { d: "M" + (m.x + m.w / 2) + "," + m.y + " C" + mid + "," + m.y + " " + mid +
                      "," + t.y + " " + (t.x + t.w / 2) + "," + t.y }, writes);
    });
    moveTip(ev);
  }
  function showEdge(e, ev) {
    table((byId[e.source].label) + " → " + byId[e.target].label, e.info, "");
    e.g.classList.add("hl");
    e.line.setAttribute("marker-end", "url(#arrow-hl)");
    moveTip(ev);
  }
  function hideTip() {
    tooltip.hidden = true;
    highlight(new Set(), false);
    writes.textContent = "";
    data.nodes.forEach(function (n) { n.g.classList.remove("hl"); });
  }

  // ------------------------------------------------------------------ search
  var search = document.getElementById("search");
  search.addEventListener("input", function () {
    var q = search.value.trim().toLowerCase();
    svg.classList.toggle("dim", q.length > 0);
    data.nodes.forEach(function (n) {
      var text = (n.label + " " + n.info.map(function (r) { return r[1]; }).join(" "))
        .toLowerCase();
      n.g.classList.toggle("match", q.length > 0 && text.indexOf(q) >= 0);
    });
  });
  search.addEventListener("keydown", function (ev) {
    if (ev.key !== "Enter") return;
    var hit = data.nodes.find(function (n) {
      return !hidden.has(n.id) && n.g.classList.contains("match");
    });
    if (!hit) return;
    view.k = Math.max(view.k, 1);
    view.x = svg.clientWidth / 2 - hit.x * view.k;
    view.y = svg.clientHeight / 2 - hit.y * view.k;
    apply();
  });

  draw();
  fit();
  window.addEventListener("resize", fit);
  window.d3viz = {
    data: data, folded: folded,
    fold: function (id) { if (!folded.has(id)) toggle(id); },
    unfold: function (id) { if (folded.has(id)) toggle(id); },
    foldSet: function (id) { return Array.from(foldSet(id)); },
    visibleNodes: function () {
      return data.nodes.filter(function (n) { return !hidden.has(n.id); })
        .map(function (n) { return n.id; });
    },
    view: view, fit: fit
  };
})();
