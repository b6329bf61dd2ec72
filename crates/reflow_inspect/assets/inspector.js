// The inspector's page: draws the graph the server describes (`hello`), updates it from the
// counters it pushes (`tick`), shows the selected connection's or process's details
// (`detail`) and the run's end (`end`). Plain JavaScript and SVG, no framework: the binary
// serves this file as it is.
//
// Everything that comes from the graph or its messages is put in the page as text
// (textContent), never as HTML.
"use strict";

const SVG = "http://www.w3.org/2000/svg";
const token = new URLSearchParams(location.search).get("token") || "";
const $ = (id) => document.getElementById(id);

// Layout constants (pixels in graph space).
const BOX_WIDTH = 215, HEAD = 36, PORT_ROW = 16, STATS = 34, LAYER_GAP = 120, ROW_GAP = 34;
// Points kept for the plot: 60 s of ticks at 4 per second.
const HISTORY = 240;

const state = {
  viewer: null,
  graph: null,
  nodes: new Map(), // name -> {process, x, y, w, h, el, statsEls, index}
  edges: [],        // {edge, el, labelEl, rate}
  capacity: null,
  ticks: [],        // recent ticks, for rates
  history: [],      // {t, total, selected}
  selection: null,  // {kind: "edge", index} | {kind: "actor", name}
  ended: false,
  view: {x: 0, y: 0, w: 1000, h: 600},
};

function el(name, attrs, parent) {
  const e = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (parent) parent.appendChild(e);
  return e;
}

function html(name, text, parent, cls) {
  const e = document.createElement(name);
  if (text !== undefined && text !== null) e.textContent = text;
  if (cls) e.className = cls;
  if (parent) parent.appendChild(e);
  return e;
}

// ---- Layout: layers left to right (longest path from the sources, cycles broken at their
// back edges), then a few barycentre sweeps to order each layer so that edges cross less.

function layout(graph) {
  const names = graph.processes.map((p) => p.name);
  const index = new Map(names.map((n, i) => [n, i]));
  const out = names.map(() => []);
  for (const e of graph.edges) {
    const a = index.get(e.from), b = index.get(e.to);
    if (a !== undefined && b !== undefined && a !== b) out[a].push(b);
  }
  // Back edges by depth-first search, in graph order.
  const mark = names.map(() => 0), back = new Set();
  const visit = (root) => {
    const stack = [[root, 0]];
    mark[root] = 1;
    while (stack.length) {
      const top = stack[stack.length - 1];
      const [v, i] = top;
      if (i < out[v].length) {
        top[1]++;
        const w = out[v][i];
        if (mark[w] === 1) back.add(v + ">" + w);
        else if (mark[w] === 0) { mark[w] = 1; stack.push([w, 0]); }
      } else { mark[v] = 2; stack.pop(); }
    }
  };
  names.forEach((_, i) => { if (mark[i] === 0) visit(i); });
  const forward = names.map(() => []), indegree = names.map(() => 0);
  out.forEach((targets, v) => targets.forEach((w) => {
    if (!back.has(v + ">" + w)) { forward[v].push(w); indegree[w]++; }
  }));
  const layer = names.map(() => 0), queue = [];
  indegree.forEach((d, v) => { if (d === 0) queue.push(v); });
  while (queue.length) {
    const v = queue.shift();
    for (const w of forward[v]) {
      layer[w] = Math.max(layer[w], layer[v] + 1);
      if (--indegree[w] === 0) queue.push(w);
    }
  }
  const layers = [];
  names.forEach((_, v) => { (layers[layer[v]] = layers[layer[v]] || []).push(v); });
  const preds = names.map(() => []), succs = names.map(() => []);
  forward.forEach((ws, v) => ws.forEach((w) => { preds[w].push(v); succs[v].push(w); }));
  const pos = names.map(() => 0);
  const number = () => layers.forEach((l) => l.forEach((v, i) => { pos[v] = i; }));
  number();
  const centre = (vs) => vs.length ? vs.reduce((s, u) => s + pos[u], 0) / vs.length : null;
  for (let sweep = 0; sweep < 6; sweep++) {
    const down = sweep % 2 === 0;
    const order = down ? layers.slice(1) : layers.slice(0, -1).reverse();
    for (const l of order) {
      const keyed = l.map((v) => [centre(down ? preds[v] : succs[v]), pos[v], v]);
      keyed.sort((a, b) => (a[0] ?? a[1]) - (b[0] ?? b[1]) || a[1] - b[1]);
      l.splice(0, l.length, ...keyed.map((k) => k[2]));
      l.forEach((v, i) => { pos[v] = i; });
    }
  }
  const heights = graph.processes.map((p) => HEAD + Math.max(p.inports.length, p.outports.length, 1) * PORT_ROW + STATS);
  const columnHeight = layers.map((l) => l.reduce((s, v) => s + heights[v], 0) + ROW_GAP * (l.length - 1));
  const tallest = Math.max(...columnHeight, 0);
  const placed = names.map(() => null);
  layers.forEach((l, li) => {
    let y = (tallest - columnHeight[li]) / 2;
    for (const v of l) {
      placed[v] = {x: li * (BOX_WIDTH + LAYER_GAP), y, w: BOX_WIDTH, h: heights[v]};
      y += heights[v] + ROW_GAP;
    }
  });
  return placed;
}

// ---- Drawing.

function portY(node, list, port) {
  const i = Math.max(0, list.indexOf(port));
  return node.y + HEAD + 8 + i * PORT_ROW;
}

function edgePath(a, b) {
  const dx = b.x - a.x;
  if (dx > 20) {
    const c = Math.max(40, dx / 2);
    return `M ${a.x} ${a.y} C ${a.x + c} ${a.y}, ${b.x - c} ${b.y}, ${b.x} ${b.y}`;
  }
  // A connection going back (a cycle): a loop out to the right, over, and in from the left.
  const lift = Math.min(a.y, b.y) - 60;
  return `M ${a.x} ${a.y} C ${a.x + 120} ${a.y}, ${a.x + 120} ${lift}, ${(a.x + b.x) / 2} ${lift} S ${b.x - 120} ${b.y}, ${b.x} ${b.y}`;
}

function draw(graph) {
  const viewport = $("viewport");
  viewport.textContent = "";
  state.nodes.clear();
  state.edges = [];
  const placed = layout(graph);
  graph.processes.forEach((p, i) => state.nodes.set(p.name, Object.assign({process: p, index: i}, placed[i])));

  const groupLayer = el("g", {class: "groups"}, viewport);
  for (const g of graph.groups) {
    const members = g.nodes.map((n) => state.nodes.get(n)).filter(Boolean);
    if (!members.length) continue;
    const x0 = Math.min(...members.map((m) => m.x)) - 16, y0 = Math.min(...members.map((m) => m.y)) - 30;
    const x1 = Math.max(...members.map((m) => m.x + m.w)) + 16, y1 = Math.max(...members.map((m) => m.y + m.h)) + 14;
    const ge = el("g", {class: "group", "data-name": g.name}, groupLayer);
    el("rect", {x: x0, y: y0, width: x1 - x0, height: y1 - y0}, ge);
    el("text", {x: x0 + 8, y: y0 + 16}, ge).textContent = g.name;
  }

  const edgeLayer = el("g", {class: "edges"}, viewport);
  graph.edges.forEach((e, i) => {
    const from = state.nodes.get(e.from), to = state.nodes.get(e.to);
    if (!from || !to) return;
    const a = {x: from.x + from.w, y: portY(from, from.process.outports, e.outport)};
    const b = {x: to.x, y: portY(to, to.process.inports, e.inport)};
    const name = `${e.from}.${e.outport} -> ${e.to}.${e.inport}`;
    const g = el("g", {class: "edge", "data-index": i, "data-name": name, "data-sent": 0}, edgeLayer);
    const d = edgePath(a, b);
    el("path", {class: "line", d, "marker-end": "url(#arrow)"}, g);
    el("path", {class: "hit", d}, g);
    const mid = {x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 - 4};
    if (b.x - a.x <= 20) mid.y = Math.min(a.y, b.y) - 64;
    el("text", {class: "name", x: mid.x, y: mid.y - 12, "text-anchor": "middle"}, g).textContent = `${e.outport} → ${e.inport}`;
    const label = el("text", {class: "counts", x: mid.x, y: mid.y, "text-anchor": "middle"}, g);
    label.textContent = "0";
    g.addEventListener("click", (ev) => { if (!state.dragged) select({kind: "edge", index: i}); ev.stopPropagation(); });
    state.edges.push({edge: e, el: g, label, rate: 0});
  });

  const nodeLayer = el("g", {class: "processes"}, viewport);
  for (const node of state.nodes.values()) {
    const p = node.process;
    const g = el("g", {class: "process" + (p.durable ? " durable" : ""), "data-name": p.name, transform: `translate(${node.x},${node.y})`}, nodeLayer);
    el("rect", {class: "box", width: node.w, height: node.h}, g);
    el("rect", {class: "head", width: node.w, height: HEAD - 4}, g);
    el("text", {class: "title", x: 8, y: 15}, g).textContent = p.name;
    el("text", {class: "component", x: 8, y: 28}, g).textContent = shortComponent(p.component) + (p.durable ? " · durable" : "");
    p.inports.forEach((port, i) => {
      const y = HEAD + 8 + i * PORT_ROW;
      el("circle", {class: "port in", cx: 0, cy: y, r: 3.5}, g);
      el("text", {class: "port-name in", x: 7, y: y + 4}, g).textContent = port;
    });
    p.outports.forEach((port, i) => {
      const y = HEAD + 8 + i * PORT_ROW;
      el("circle", {class: "port out", cx: node.w, cy: y, r: 3.5}, g);
      el("text", {class: "port-name out", x: node.w - 7, y: y + 4, "text-anchor": "end"}, g).textContent = port;
    });
    const base = node.h - STATS + 12;
    node.stats = [el("text", {class: "stats", x: 8, y: base}, g), el("text", {class: "stats", x: 8, y: base + 14}, g)];
    node.stats[0].textContent = "calls 0";
    node.el = g;
    g.addEventListener("click", (ev) => { if (!state.dragged) select({kind: "actor", name: p.name}); ev.stopPropagation(); });
  }
  fit();
}

function shortComponent(c) {
  const parts = String(c).split("/");
  return parts.length > 2 ? "…/" + parts.slice(-1)[0] : c;
}

// ---- Pan and zoom: the SVG's viewBox.

function applyView() {
  const v = state.view;
  $("graph").setAttribute("viewBox", `${v.x} ${v.y} ${v.w} ${v.h}`);
}

function fit() {
  const box = $("viewport").getBBox();
  const svg = $("graph").getBoundingClientRect();
  const pad = 40, aspect = (svg.width || 1000) / (svg.height || 600);
  let w = box.width + 2 * pad, h = box.height + 2 * pad;
  if (w / h < aspect) w = h * aspect; else h = w / aspect;
  state.view = {x: box.x + box.width / 2 - w / 2, y: box.y + box.height / 2 - h / 2, w, h};
  applyView();
}

function setUpPanZoom() {
  const svg = $("graph");
  let drag = null;
  svg.addEventListener("wheel", (ev) => {
    ev.preventDefault();
    const r = svg.getBoundingClientRect(), v = state.view;
    const fx = (ev.clientX - r.left) / r.width, fy = (ev.clientY - r.top) / r.height;
    const k = Math.exp(ev.deltaY * 0.0015);
    const w = Math.min(Math.max(v.w * k, 100), 40000), h = w * v.h / v.w;
    state.view = {x: v.x + (v.w - w) * fx, y: v.y + (v.h - h) * fy, w, h};
    applyView();
  }, {passive: false});
  svg.addEventListener("pointerdown", (ev) => {
    drag = {x: ev.clientX, y: ev.clientY, view: Object.assign({}, state.view)};
    state.dragged = false;
  });
  window.addEventListener("pointermove", (ev) => {
    if (!drag) return;
    const dx = ev.clientX - drag.x, dy = ev.clientY - drag.y;
    if (Math.abs(dx) + Math.abs(dy) > 4) { state.dragged = true; svg.classList.add("dragging"); }
    if (!state.dragged) return;
    const r = svg.getBoundingClientRect();
    state.view = Object.assign({}, drag.view, {x: drag.view.x - dx * drag.view.w / r.width, y: drag.view.y - dy * drag.view.h / r.height});
    applyView();
  });
  window.addEventListener("pointerup", () => {
    drag = null;
    svg.classList.remove("dragging");
    // A click event follows this one; `dragged` tells it whether this was a drag.
    setTimeout(() => { state.dragged = false; }, 0);
  });
  svg.addEventListener("click", () => { if (!state.dragged) select(null); });
  $("fit").addEventListener("click", fit);
}

// ---- Selection: the server sends the selected thing's details with each tick that changes them.

function select(selection) {
  state.selection = selection;
  for (const e of state.edges) e.el.classList.toggle("selected", !!selection && selection.kind === "edge" && selection.index === Number(e.el.dataset.index));
  for (const n of state.nodes.values()) n.el.classList.toggle("selected", !!selection && selection.kind === "actor" && selection.name === n.process.name);
  $("detail-title").textContent = !selection ? "Click a connection or a process"
    : selection.kind === "edge" ? "Connection " + state.edges[selection.index].el.dataset.name
    : "Process " + selection.name;
  const body = $("detail-body");
  body.textContent = "";
  if (selection) html("p", "waiting for the next update…", body, "empty");
  $("plot-selected").textContent = !selection ? "" : selection.kind === "edge" ? "this connection" : "calls of " + selection.name;
  state.history.forEach((h) => { h.selected = null; });
  if (state.viewer === null || state.ended) return;
  const q = new URLSearchParams({token, viewer: state.viewer});
  if (selection && selection.kind === "edge") q.set("edge", selection.index);
  if (selection && selection.kind === "actor") q.set("actor", selection.name);
  fetch("/select?" + q.toString(), {method: "POST"}).catch(() => {});
}

function showDetail(d) {
  const s = state.selection;
  if (!s) return;
  const body = $("detail-body");
  if (s.kind === "edge" && d.edge === s.index) {
    body.textContent = "";
    html("h3", `Last messages (newest first; ${d.sent} sent in all)`, body);
    if (!d.messages.length) html("p", "none kept yet (messages are kept while a page watches)", body, "empty");
    const list = html("ol", null, body, "messages");
    for (const m of d.messages) {
      const li = html("li", null, list);
      html("time", new Date(m.at).toISOString().slice(11, 23), li);
      html("span", m.message.type, li, "type");
      html("pre", JSON.stringify(m.message.data, null, 2), li, "json");
    }
  } else if (s.kind === "actor" && d.actor === s.name) {
    body.textContent = "";
    html("p", d.component, body, "component");
    html("h3", d.durable ? "State (as last committed)" : "State", body);
    if (!d.durable) html("p", "not durable: no state is stored for this process", body, "empty");
    else if (d.state && d.state.error) html("p", d.state.error, body, "error");
    else { const pre = html("pre", JSON.stringify(d.state.state, null, 2), body, "json"); pre.id = "actor-state"; }
    html("h3", "Config", body);
    const config = html("pre", JSON.stringify(d.config, null, 2), body, "json");
    config.id = "actor-config";
    html("h3", "Recent errors (newest first)", body);
    if (!d.errors.length) html("p", "none", body, "empty");
    const list = html("ul", null, body, "errors");
    list.id = "actor-errors";
    for (const e of d.errors) {
      const li = html("li", null, list);
      html("time", new Date(e.at).toISOString().slice(11, 23), li);
      html("div", e.error, li, "error");
    }
    if (d.swaps.length) {
      html("h3", "Hot swaps", body);
      const swaps = html("ul", null, body, "swaps");
      swaps.id = "actor-swaps";
      for (const s of d.swaps) {
        const li = html("li", null, swaps);
        html("time", new Date(s.at).toISOString().slice(11, 23), li);
        html("span", ` version ${s.version}: ${s.plugin}`, li);
      }
    }
  }
}

// ---- Live counters.

function micros(us) {
  if (us === null || us === undefined) return "–";
  if (us < 1000) return us.toFixed(us < 10 ? 1 : 0) + "µs";
  if (us < 1e6) return (us / 1000).toFixed(1) + "ms";
  return (us / 1e6).toFixed(2) + "s";
}

function rate(n) {
  return n >= 100 ? Math.round(n).toString() : n.toFixed(1);
}

function onTick(tick) {
  state.ticks.push(tick);
  // Rates over about one second of ticks.
  while (state.ticks.length > 5) state.ticks.shift();
  const first = state.ticks[0], dt = tick.t - first.t;
  let total = 0;
  tick.edges.forEach(([sent, queued, held], i) => {
    const e = state.edges[i];
    if (!e) return;
    const before = first.edges[i] ? first.edges[i][0] : 0;
    e.rate = dt > 0 ? (sent - before) / dt : 0;
    total += e.rate;
    const cap = state.capacity || 64;
    const fill = queued / cap;
    e.el.dataset.sent = sent;
    e.el.dataset.queued = queued;
    e.label.textContent = `${sent} · ${rate(e.rate)}/s · q ${queued}/${cap}` + (held ? ` · held ${held}` : "");
    e.el.classList.toggle("busy", e.rate > 0);
    e.el.classList.toggle("filling", fill >= 0.5 && fill < 0.9);
    e.el.classList.toggle("full", fill >= 0.9);
    e.el.classList.toggle("held", held > 0);
  });
  const names = state.graph.processes.map((p) => p.name);
  tick.actors.forEach(([calls, errors, dead, restarts, p50, p99, queued, version], i) => {
    const node = state.nodes.get(names[i]);
    if (!node) return;
    node.el.dataset.calls = calls;
    node.el.dataset.errors = errors;
    node.el.dataset.version = version;
    node.el.classList.toggle("swapped", version > 1);
    node.stats[0].textContent = `calls ${calls} · err ${errors} · dead ${dead}` + (queued ? ` · q ${queued}` : "");
    node.stats[1].textContent = `p50 ${micros(p50)} · p99 ${micros(p99)} · restarts ${restarts}` + (version > 1 ? ` · v${version}` : "");
    node.stats[0].classList.toggle("bad", errors > 0 || dead > 0);
    node.el.classList.toggle("failing", errors > 0);
  });
  let selected = null;
  const s = state.selection;
  if (s && s.kind === "edge" && state.edges[s.index]) selected = state.edges[s.index].rate;
  if (s && s.kind === "actor") {
    const i = names.indexOf(s.name), before = first.actors[i] ? first.actors[i][0] : 0;
    selected = dt > 0 && tick.actors[i] ? (tick.actors[i][0] - before) / dt : 0;
  }
  state.history.push({t: tick.t, total, selected});
  while (state.history.length > HISTORY) state.history.shift();
  $("totals").textContent = `${rate(total)} messages/s on all connections`;
  plot();
}

function plot() {
  const svg = $("plot");
  svg.textContent = "";
  const h = state.history;
  if (h.length < 2) return;
  const W = 320, H = 130, top = 12, bottom = 4;
  const max = Math.max(1, ...h.map((p) => Math.max(p.total, p.selected || 0)));
  // The last minute, or all of it while the run is younger.
  const t0 = Math.max(h[0].t, h[h.length - 1].t - 60), span = Math.max(h[h.length - 1].t - t0, 1);
  const x = (t) => Math.max(0, (t - t0) / span) * W;
  const y = (v) => H - bottom - (v / max) * (H - top - bottom);
  const line = (key) => h.filter((p) => p[key] !== null).map((p) => `${x(p.t).toFixed(1)},${y(p[key]).toFixed(1)}`).join(" ");
  el("polyline", {class: "total", points: line("total")}, svg);
  if (state.selection) el("polyline", {class: "selected", points: line("selected")}, svg);
  el("text", {x: 3, y: 10}, svg).textContent = rate(max) + "/s";
}

// ---- Hot swaps (`reflow run --watch`): the swapped process says which version it runs.

function onSwap(swap) {
  const node = state.nodes.get(swap.process);
  if (!node) return;
  node.el.dataset.version = swap.version;
  node.el.classList.add("swapped");
  const component = node.el.querySelector("text.component");
  component.textContent = shortComponent(node.process.component) + (node.process.durable ? " · durable" : "") + ` · v${swap.version} (swapped ${new Date(swap.at).toISOString().slice(11, 19)})`;
}

// ---- The end of the run: its final table.

function onEnd(end) {
  state.ended = true;
  const status = $("status");
  status.className = "status " + (end.failed ? "failed" : "ended");
  status.textContent = end.failed ? "failed" : "ended";
  const box = $("end");
  box.hidden = false;
  box.classList.toggle("failed", end.failed);
  $("end-title").textContent = end.failed ? "The run failed" : "The run ended";
  $("end-reason").textContent = end.reason || "every input was processed";
  const table = $("end-table");
  table.textContent = "";
  const head = html("tr", null, table);
  for (const c of ["actor", "received", "calls", "sent", "errors", "dropped", "dead"]) html("th", c, head);
  for (const a of end.table) {
    const row = html("tr", null, table);
    row.dataset.name = a.name;
    for (const v of [a.name, a.received, a.calls, a.sent, a.errors, a.dropped, a.dead_letters + (a.stopped ? " (stopped)" : "")]) html("td", String(v), row);
  }
}

// ---- The event stream.

// `after`: the number of the run this page showed last. Under `reflow serve` (hello's
// `follow`) runs follow one another: when one ends, the page asks for the next one, and the
// server answers once the editor starts it.
function connect(after) {
  const q = new URLSearchParams({token});
  if (after) q.set("after", after);
  const events = new EventSource("/events?" + q.toString());
  let run = null, follow = false;
  events.addEventListener("hello", (ev) => {
    const hello = JSON.parse(ev.data);
    run = hello.run;
    follow = hello.follow;
    state.viewer = hello.viewer;
    state.graph = hello.graph;
    state.capacity = hello.graph.capacity;
    if (state.ended) {
      // A new run: its own counts, plot and end.
      state.ended = false;
      state.ticks = [];
      state.history = [];
      state.selection = null;
      $("end").hidden = true;
      $("detail-title").textContent = "Click a connection or a process";
      $("detail-body").textContent = "";
    }
    document.body.dataset.run = run;
    $("graph-name").textContent = hello.graph.name || "";
    const status = $("status");
    status.className = "status running";
    status.textContent = "running";
    draw(hello.graph);
    // A new stream (after a reconnection) is a new viewer: tell it what is selected.
    if (state.selection) select(state.selection);
  });
  events.addEventListener("tick", (ev) => onTick(JSON.parse(ev.data)));
  events.addEventListener("detail", (ev) => showDetail(JSON.parse(ev.data)));
  events.addEventListener("swap", (ev) => onSwap(JSON.parse(ev.data)));
  events.addEventListener("end", (ev) => {
    onEnd(JSON.parse(ev.data));
    events.close();
    if (follow) connect(run);
  });
  events.addEventListener("error", () => {
    if (state.ended) return;
    const status = $("status");
    status.className = "status disconnected";
    status.textContent = "disconnected";
    // EventSource reconnects by itself; a new stream starts with a new `hello`.
  });
}

setUpPanZoom();
connect(0);
