// The weir dashboard: draws /graph.json as an SVG graph, updated from
// /events. Every name and message is inserted as text (textContent),
// never as HTML.
"use strict";
(function () {
  const SVG = "http://www.w3.org/2000/svg";
  const W = 200, H = 124, GAP_X = 124, GAP_Y = 26, PAD = 16;
  // A queue's label: its text (10.5 px) over its bar (9 px).
  const LABEL_H = 24;
  const query = window.location.search; // carries ?token= when there is one
  const graph = document.getElementById("graph");
  let updates = 0;

  function el(name, attrs, text) {
    const e = document.createElementNS(SVG, name);
    for (const k in attrs) e.setAttribute(k, String(attrs[k]));
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function num(n) { return Number(n).toLocaleString("en-US"); }
  function rate(r) {
    if (r >= 1e6) return (r / 1e6).toFixed(1) + "M";
    if (r >= 1e4) return (r / 1e3).toFixed(0) + "k";
    return r >= 100 ? r.toFixed(0) : r.toFixed(1);
  }
  function clip(s, n) { return s.length > n ? s.slice(0, n - 1) + "…" : s; }
  function at(s) { return { x: PAD + s.layer * (W + GAP_X), y: PAD + s.row * (H + GAP_Y) }; }

  // A point of the cubic from (x1, y1) to (x2, y2) with both control
  // points at mid-x, as the edges are drawn, at t in [0, 1].
  function along(x1, y1, x2, y2, t) {
    const mx = (x1 + x2) / 2, u = 1 - t;
    const x = u * u * u * x1 + 3 * u * t * (u * mx + t * mx) + t * t * t * x2;
    const y = u * u * u * y1 + 3 * u * t * (u * y1 + t * y2) + t * t * t * y2;
    return { x, y };
  }
  function hits(a, b) {
    return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
  }

  // Where each queue's label (its bar and the text above it) goes: on its
  // own edge, at the middle if that is free, else at the nearest point
  // along the edge that overlaps no stage box and no label placed before
  // (dense fan-outs put several edges' middles in one spot).
  const TRY = [0.5, 0.4, 0.6, 0.3, 0.7, 0.2, 0.8, 0.45, 0.55, 0.35, 0.65, 0.25, 0.75];
  function placeLabels(edges, byId, boxes) {
    const placed = [], where = new Map();
    for (const e of edges) {
      if (e.queued === null || e.capacity === null) continue;
      const from = byId.get(e.from), to = byId.get(e.to);
      if (!from || !to) continue;
      const a = at(from), b = at(to);
      const x1 = a.x + W, y1 = a.y + H / 2, x2 = b.x, y2 = b.y + H / 2;
      const text = `${num(e.queued)}/${num(e.capacity)} · peak ${num(e.peak)}`;
      const w = Math.max(56, text.length * 6.2) + 4, h = LABEL_H;
      let best = null;
      for (const t of TRY) {
        const p = along(x1, y1, x2, y2, t);
        const r = { x: p.x - w / 2, y: p.y - h - 6, w, h };
        if (!boxes.some((o) => hits(r, o)) && !placed.some((o) => hits(r, o))) { best = r; break; }
      }
      if (best === null) {
        const p = along(x1, y1, x2, y2, 0.5);
        best = { x: p.x - w / 2, y: p.y - h - 6, w, h };
      }
      placed.push(best);
      where.set(e, { x: best.x + best.w / 2, y: best.y + best.h, text });
    }
    return where;
  }

  function drawEdge(svg, e, from, to, label) {
    const a = at(from), b = at(to);
    const x1 = a.x + W, y1 = a.y + H / 2, x2 = b.x, y2 = b.y + H / 2;
    const queued = e.queued !== null && e.capacity !== null;
    const g = el("g", { class: queued ? "edge" : "edge fused" });
    const mx = (x1 + x2) / 2;
    g.appendChild(el("path", {
      d: `M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2 - 6},${y2}`,
      "marker-end": "url(#arrow)",
    }));
    if (queued && label) {
      const fill = e.capacity > 0 ? Math.min(1, e.queued / e.capacity) : 0;
      const q = el("g", { class: "queue" });
      const bw = 56, bh = 9, bx = label.x - bw / 2, by = label.y - bh;
      q.appendChild(el("rect", { class: "bar-bg", x: bx, y: by, width: bw, height: bh, rx: 2 }));
      const level = fill >= 0.9 ? "high" : fill >= 0.5 ? "mid" : "low";
      q.appendChild(el("rect", { class: "bar " + level, x: bx, y: by, width: bw * fill, height: bh, rx: 2 }));
      q.appendChild(el("text", { x: label.x, y: by - 3, "text-anchor": "middle" }, label.text));
      q.appendChild(el("title", {}, `queue ${e.queued} of ${e.capacity}, peak ${e.peak}, sent ${e.sent}`));
      g.appendChild(q);
    }
    if (e.branch !== null) {
      g.appendChild(el("text", { x: mx - 20, y: (y1 + y2) / 2 + 14 }, clip(e.branch, 16)));
    }
    svg.appendChild(g);
  }

  function drawStage(svg, s, isBottleneck) {
    const p = at(s);
    let cls = "stage";
    if (s.running) cls += " running";
    if (isBottleneck) cls += " bottleneck";
    const g = el("g", { class: cls, transform: `translate(${p.x},${p.y})`, "data-id": s.id });
    g.appendChild(el("title", {}, `${s.name} (${s.kind})`));
    g.appendChild(el("rect", { class: "box", width: W, height: H, rx: 6 }));
    g.appendChild(el("text", { class: "name", x: 10, y: 18 }, clip(s.name, 26)));
    g.appendChild(el("text", { class: "kind", x: 10, y: 32 }, s.kind));
    if (isBottleneck) g.appendChild(el("text", { class: "mark", x: W - 10, y: 32, "text-anchor": "end" }, "▲ bottleneck"));
    g.appendChild(el("text", { class: "counts", x: 10, y: 49 }, `in ${num(s.items_in)} · out ${num(s.items_out)}`));
    g.appendChild(el("text", { class: "rate", x: 10, y: 64 }, `${rate(s.rate)}/s · busy ${s.busy_pct.toFixed(0)}%`));
    const faults = s.errors + s.retries + s.dead_lettered + s.skipped + s.dropped + s.timeouts + s.restarts;
    let f = `err ${num(s.errors)} · retry ${num(s.retries)} · dead ${num(s.dead_lettered)}`;
    if (s.skipped) f += ` · skip ${num(s.skipped)}`;
    if (s.dropped) f += ` · drop ${num(s.dropped)}`;
    g.appendChild(el("text", { class: faults ? "faults bad" : "faults", x: 10, y: 79 }, f));
    let sparkTop = 86;
    if (s.lag) {
      g.appendChild(el("text", { class: "lag", x: 10, y: 94 },
        `lag ${num(s.lag.pending)} pending · ${num(s.lag.ack_pending)} acking`));
      sparkTop = 99;
    }
    const sw = W - 20, sh = H - sparkTop - 6;
    g.appendChild(el("rect", { class: "sparkbg", x: 10, y: sparkTop, width: sw, height: sh, rx: 2 }));
    const h = s.history;
    if (h.length > 1) {
      const max = Math.max(1, ...h);
      const step = sw / 59; // 60 s across the box
      const x0 = 10 + sw - step * (h.length - 1);
      const pts = h.map((r, i) => `${(x0 + i * step).toFixed(1)},${(sparkTop + sh - (r / max) * sh).toFixed(1)}`);
      g.appendChild(el("polyline", { class: "spark", points: pts.join(" ") }));
    }
    svg.appendChild(g);
  }

  function render(doc) {
    updates += 1;
    document.body.dataset.updates = String(updates);
    document.body.dataset.state = doc.state;
    document.getElementById("name").textContent = doc.pipeline;
    document.title = doc.pipeline + " · " + doc.state + " · weir";
    const state = document.getElementById("state");
    state.textContent = doc.state;
    state.className = "state " + doc.state;
    const error = document.getElementById("error");
    error.hidden = doc.error === null;
    error.textContent = doc.error === null ? "" : doc.error;
    const bn = document.getElementById("bottleneck");
    bn.hidden = doc.bottleneck === null;
    bn.textContent = "";
    if (doc.bottleneck !== null) {
      const b = document.createElement("b");
      b.textContent = "bottleneck: " + doc.bottleneck.name;
      bn.appendChild(b);
      bn.appendChild(document.createTextNode(" — " + doc.bottleneck.reason));
    }
    const total = doc.stages.reduce((a, s) => a + (s.layer === 0 ? s.items_out : 0), 0);
    document.getElementById("summary").textContent =
      `${doc.stages.length} stages · ${doc.edges.length} edges · ${num(total)} items from sources · up ${(doc.uptime_ms / 1000).toFixed(0)} s`;

    const layers = Math.max(1, ...doc.stages.map((s) => s.layer + 1));
    const rows = Math.max(1, ...doc.stages.map((s) => s.row + 1));
    const width = PAD * 2 + layers * W + (layers - 1) * GAP_X;
    const height = PAD * 2 + rows * H + (rows - 1) * GAP_Y;
    const svg = el("svg", { width, height, viewBox: `0 0 ${width} ${height}`, role: "img" });
    const defs = el("defs", {});
    const marker = el("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 8, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto" });
    marker.appendChild(el("path", { d: "M0,0 L10,5 L0,10 z", fill: "#9aa5b1" }));
    defs.appendChild(marker);
    svg.appendChild(defs);
    const byId = new Map(doc.stages.map((s) => [s.id, s]));
    const boxes = doc.stages.map((s) => { const p = at(s); return { x: p.x, y: p.y, w: W, h: H }; });
    const labels = placeLabels(doc.edges, byId, boxes);
    for (const e of doc.edges) {
      const from = byId.get(e.from), to = byId.get(e.to);
      if (from && to) drawEdge(svg, e, from, to, labels.get(e));
    }
    const hot = doc.bottleneck === null ? -1 : doc.bottleneck.stage;
    for (const s of doc.stages) drawStage(svg, s, s.id === hot);
    graph.replaceChildren(svg);
  }

  function parse(text) {
    try { render(JSON.parse(text)); } catch (err) { console.error(err); }
  }

  document.getElementById("fit").addEventListener("click", () => {
    const fit = graph.classList.toggle("fit");
    document.getElementById("fit").textContent = fit ? "actual size" : "fit to window";
  });

  fetch("graph.json" + query).then((r) => r.text()).then(parse).catch(() => {});
  if (window.EventSource) {
    const events = new EventSource("events" + query);
    events.onmessage = (m) => parse(m.data);
    events.onerror = () => {
      if (events.readyState === EventSource.CLOSED) document.getElementById("state").textContent = "disconnected";
    };
  }
})();
