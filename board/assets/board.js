// mhub board: the page's logic. Data comes from the server's JSON API (/api/...); curves are
// drawn with uPlot (vendored: uPlot.iife.min.js), the model graph as SVG built here.
"use strict";

const PALETTE = ["#2f6fed", "#e4572e", "#17a398", "#f3a712", "#7c3aed", "#d63384", "#4c9f38", "#0b7285", "#a0522d", "#5c677d"];
const state = {
  runs: [], sweeps: [], selected: new Set(), touched: false, sort: { key: "id", dir: 1 },
  metrics: {}, charts: {}, colors: {}, curvePoints: {}, sweepCharts: [], sweepSignature: "", chartSignature: "",
};

const $ = (sel) => document.querySelector(sel);
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c);
  return node;
}
const fmt = (v, digits = 4) => (v === undefined || v === null || Number.isNaN(v) ? "–" : Number(v).toPrecision(digits));
const getJSON = async (url) => {
  const res = await fetch(url, { cache: "no-store" });
  if (!res.ok) throw new Error(url + ": " + res.status);
  return res.json();
};
function colorOf(id) {
  if (!(id in state.colors)) state.colors[id] = PALETTE[Object.keys(state.colors).length % PALETTE.length];
  return state.colors[id];
}
function ago(seconds) {
  if (seconds === null || seconds === undefined || seconds < 0) return "–";
  if (seconds < 60) return Math.round(seconds) + " s ago";
  if (seconds < 3600) return Math.round(seconds / 60) + " min ago";
  if (seconds < 86400) return Math.round(seconds / 3600) + " h ago";
  return Math.round(seconds / 86400) + " d ago";
}

// ---------- runs table ----------
const COLUMNS = [
  { key: "select", label: "", sortable: false },
  { key: "id", label: "run" },
  { key: "status", label: "status" },
  { key: "settings", label: "settings" },
  { key: "epochs", label: "epochs", num: true },
  { key: "points", label: "steps", num: true },
  { key: "train_loss", label: "train loss", num: true, value: (r) => r.last["epoch/train_loss"] ?? r.last["train/loss"] },
  { key: "eval_accuracy", label: "eval acc", num: true, value: (r) => r.last["epoch/eval_accuracy"] },
  { key: "eval_loss", label: "eval loss", num: true, value: (r) => r.last["epoch/eval_loss"] },
  { key: "updated_ago", label: "updated", num: true },
  { key: "error", label: "error" },
];
const settingsText = (r) => Object.entries(r.settings || {}).map(([k, v]) => k + "=" + v).join(" ");
function sortValue(run, col) {
  if (col.value) return col.value(run);
  if (col.key === "settings") return settingsText(run);
  return run[col.key];
}

function renderRunsTable() {
  const thead = $("#runs thead"), tbody = $("#runs tbody");
  thead.replaceChildren(el("tr", {}, ...COLUMNS.map((c) => {
    const th = el("th", { class: (c.num ? "num " : "") + (state.sort.key === c.key ? (state.sort.dir > 0 ? "sorted-asc" : "sorted-desc") : ""), text: c.label });
    th.dataset.key = c.key;
    if (c.sortable !== false)
      th.addEventListener("click", () => {
        state.sort = { key: c.key, dir: state.sort.key === c.key ? -state.sort.dir : 1 };
        renderRunsTable();
      });
    return th;
  })));
  const col = COLUMNS.find((c) => c.key === state.sort.key) || COLUMNS[1];
  const runs = [...state.runs].sort((a, b) => {
    const x = sortValue(a, col), y = sortValue(b, col);
    if (x === y) return a.id < b.id ? -1 : 1;
    if (x === undefined || x === null) return 1;
    if (y === undefined || y === null) return -1;
    return (x < y ? -1 : 1) * state.sort.dir;
  });
  const bestOf = Object.fromEntries(state.sweeps.map((s) => [s.id, s.best]));
  tbody.replaceChildren(...runs.map((r) => {
    const box = el("input", { type: "checkbox", "aria-label": "show " + r.id });
    box.checked = state.selected.has(r.id);
    box.disabled = r.rows === 0;
    box.addEventListener("change", () => {
      state.touched = true;
      if (box.checked) state.selected.add(r.id); else state.selected.delete(r.id);
      refreshCharts();
    });
    const status = el("td", {}, el("span", { class: "badge " + r.status, text: r.status === "halted" && r.halted_at ? "halted @" + r.halted_at : r.status }));
    if (r.sweep !== null && bestOf[r.sweep] === r.trial) status.append(el("span", { class: "badge best", text: "best" }));
    const row = el("tr", { "data-run": r.id },
      el("td", {}, box, el("span", { class: "swatch", style: "background:" + (state.selected.has(r.id) ? colorOf(r.id) : "transparent") })),
      el("td", { text: r.id }), status,
      el("td", { class: "settings", text: settingsText(r) || "–" }),
      el("td", { class: "num", text: r.epochs }), el("td", { class: "num", text: r.points }),
      ...COLUMNS.slice(6, 9).map((c) => el("td", { class: "num", text: fmt(c.value(r)) })),
      el("td", { class: "num", text: ago(r.updated_ago) }),
      el("td", { class: "err", text: r.error || "", title: r.error || "" }));
    return row;
  }));
  $("#no-runs").hidden = state.runs.length > 0;
}

// ---------- curves ----------
function lineChart(target, title, xLabel, yLabel, data, series, opts = {}) {
  const width = Math.max(320, target.clientWidth || 480);
  return new uPlot({
    width, height: 250, title: undefined,
    scales: { x: { time: false, ...(opts.xScale || {}) }, y: opts.yScale || {} },
    axes: [{ label: xLabel, ...(opts.xAxis || {}) }, { label: yLabel, size: 60 }],
    series: [{ label: xLabel }, ...series],
    legend: { live: true },
    cursor: { drag: { x: true, y: false } },
  }, data, target);
}

function seriesFor(runs, xKey, yKey) {
  // One [xs, ys] table per run, then joined on x so uPlot can overlay runs with different steps.
  const tables = runs.map((id) => {
    const rows = (state.metrics[id] || []).filter((r) => typeof r[yKey] === "number");
    const xs = rows.map((r, i) => (xKey === "epoch" ? i + 1 : r[xKey]));
    return [xs, rows.map((r) => r[yKey])];
  });
  return tables;
}

function drawChart(name, target, xKey, yKey, xLabel, yLabel, ids, opts) {
  const tables = seriesFor(ids, xKey, yKey);
  for (let i = 0; i < ids.length; ++i) {
    state.curvePoints[ids[i]] = state.curvePoints[ids[i]] || {};
    state.curvePoints[ids[i]][name] = tables[i][0].length;
  }
  if (state.charts[name]) { state.charts[name].destroy(); delete state.charts[name]; }
  target.replaceChildren();
  const usable = tables.map((t, i) => [t, ids[i]]).filter(([t]) => t[0].length > 0);
  if (usable.length === 0) { target.append(el("p", { class: "empty", text: "Tick a run with metrics to see its curve." })); return; }
  const data = usable.length === 1 ? usable[0][0] : uPlot.join(usable.map(([t]) => t));
  const series = usable.map(([, id]) => ({ label: id, stroke: colorOf(id), width: 1.6, spanGaps: true, points: { show: xKey === "epoch" } }));
  state.charts[name] = lineChart(target, name, xLabel, yLabel, data, series, opts);
}

async function refreshCharts() {
  const ids = [...state.selected].filter((id) => state.runs.some((r) => r.id === id && r.rows > 0)).sort();
  await Promise.all(ids.map(async (id) => {
    try {
      state.metrics[id] = (await getJSON("/api/metrics?run=" + encodeURIComponent(id))).rows;
    } catch (e) { state.metrics[id] = []; }
  }));
  // Redraw only when something changed: a redraw resets the legend and the user's zoom.
  const signature = ids.map((id) => id + ":" + (state.metrics[id] || []).length).join(",");
  if (signature === state.chartSignature) return renderRunsTable();
  state.chartSignature = signature;
  state.curvePoints = {};
  drawChart("loss", $("#chart-loss"), "step", "train/loss", "step", "loss", ids);
  drawChart("accuracy", $("#chart-accuracy"), "epoch", "epoch/eval_accuracy", "epoch", "accuracy", ids,
            { yScale: { range: [0, 1] }, xAxis: { incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500] } });
  drawChart("lr", $("#chart-lr"), "step", "train/lr", "step", "learning rate", ids);
  renderRunsTable();
}

// ---------- sweeps: the metric against each parameter ----------
function renderSweeps() {
  const signature = JSON.stringify(state.sweeps);
  if (signature === state.sweepSignature) return;
  state.sweepSignature = signature;
  state.sweepCharts.forEach((c) => c.destroy());
  state.sweepCharts = [];
  const root = $("#sweeps");
  root.replaceChildren();
  for (const sweep of state.sweeps) {
    const counts = {};
    sweep.trials.forEach((t) => (counts[t.status] = (counts[t.status] || 0) + 1));
    const card = el("div", { class: "card sweep", "data-sweep": sweep.id },
      el("div", { class: "card-title" }, el("h2", { text: "Sweep: " + sweep.id }),
        el("span", { class: "hint", text: sweep.method + " search · " + sweep.trials.length + " trials · rungs at epochs " + sweep.rungs.join(", ") })),
      el("div", { class: "sweep-meta", text: Object.entries(counts).map(([k, v]) => v + " " + k).join(" · ") +
        (sweep.best ? " · best " + sweep.best : "") }));
    const grid = el("div", { class: "sweep-charts" });
    card.append(grid);
    root.append(card);
    // Boxes first, charts after: a box measured before its siblings exist is a full row wide.
    const pending = [];
    sweep.params.forEach((param, index) => {
      const spec = sweep.param_specs[index].slice(param.length + 1);
      const points = sweep.trials.filter((t) => typeof t.final === "number").map((t) => ({ v: t.settings[param], y: t.final, halted: t.status !== "done" }));
      const numeric = points.every((p) => p.v !== undefined && p.v !== "" && !Number.isNaN(Number(p.v)));
      const categories = numeric ? [] : [...new Set(points.map((p) => p.v))].sort();
      const xOf = (p) => (numeric ? Number(p.v) : categories.indexOf(p.v));
      points.sort((a, b) => xOf(a) - xOf(b));
      const box = el("div", { class: "chart" });
      grid.append(el("div", {}, el("h3", { text: sweep.metric + " vs " + param }, el("small", { text: " " + spec })), box));
      if (points.length === 0) { box.append(el("p", { class: "empty", text: "No finished epochs yet." })); return; }
      const xs = points.map(xOf);
      const data = [xs, points.map((p) => (p.halted ? null : p.y)), points.map((p) => (p.halted ? p.y : null))];
      const dot = (color) => ({ stroke: color, fill: color, paths: () => null, points: { show: true, size: 9, stroke: color, fill: color } });
      pending.push(() => state.sweepCharts.push(new uPlot({
        width: Math.max(300, box.clientWidth || 360), height: 210,
        scales: { x: { time: false, distr: spec.startsWith("log:") ? 3 : 1, range: numeric ? undefined : () => [-0.5, categories.length - 0.5] } },
        axes: [{ label: param, values: numeric ? undefined : (u, vals) => vals.map((v) => (Number.isInteger(v) && categories[v] !== undefined ? categories[v] : "")) ,
                 splits: numeric ? undefined : () => categories.map((_, i) => i) },
               { label: sweep.metric, size: 60 }],
        series: [{ label: param, value: (u, v) => (v === null ? "–" : numeric ? fmt(v) : categories[v]) },
                 { label: "finished", ...dot("#2f6fed") }, { label: "halted early", ...dot("#f3a712") }],
      }, data, box)));
    });
    pending.forEach((draw) => draw());
  }
}

async function refreshRuns() {
  try {
    const data = await getJSON("/api/runs");
    $("#logdir").textContent = data.logdir;
    state.runs = data.runs;
    state.sweeps = data.sweeps;
    if (!state.touched) {  // until the user picks, show the first runs that have metrics
      state.selected = new Set(state.runs.filter((r) => r.rows > 0).map((r) => r.id).sort().slice(0, 8));
    }
    renderSweeps();
    await refreshCharts();
    $("#updated").textContent = "updated " + new Date().toLocaleTimeString();
  } catch (e) {
    $("#updated").textContent = "server unreachable: " + e.message;
  }
}

// ---------- models ----------
async function renderModels() {
  const data = await getJSON("/api/models");
  $("#models tbody").replaceChildren(...data.models.map((m) => el("tr", {},
    el("td", { text: m.root }),
    el("td", {}, el("a", { href: "#model/" + m.root + "/" + m.path, text: m.path })),
    el("td", { class: "num", text: (m.bytes / 1024).toFixed(1) + " KiB" }))));
}

function drawGraph(nodes, inputs) {
  // Layered drawing: a node's row is one below the lowest row of the nodes feeding it.
  const producer = {}, row = [];
  nodes.forEach((n, i) => n.outputs.forEach((o) => (producer[o] = i)));
  nodes.forEach((n, i) => {
    let r = 1;
    n.inputs.forEach((v) => { if (v in producer && producer[v] < i) r = Math.max(r, row[producer[v]] + 1); });
    row[i] = r;
  });
  const inputRow = inputs.map((p) => p.name);
  const rows = [];
  nodes.forEach((n, i) => (rows[row[i]] = rows[row[i]] || []).push(i));
  rows[0] = [];
  const W = 124, H = 30, GX = 18, GY = 34, PAD = 20;
  const widest = Math.max(inputRow.length, ...rows.map((r) => (r ? r.length : 0)));
  const width = PAD * 2 + widest * (W + GX), height = PAD * 2 + rows.length * (H + GY);
  const pos = {}, inputPos = {};
  const place = (count, k, r) => ({ x: PAD + (width - PAD * 2 - count * (W + GX)) / 2 + k * (W + GX), y: PAD + r * (H + GY) });
  inputRow.forEach((name, k) => (inputPos[name] = place(inputRow.length, k, 0)));
  rows.forEach((members, r) => members && members.forEach((i, k) => (pos[i] = place(members.length, k, r))));
  const NS = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(NS, "svg");
  svg.setAttribute("class", "graph");
  svg.setAttribute("width", width);
  svg.setAttribute("height", height);
  const add = (tag, attrs, parent = svg) => {
    const e = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    parent.append(e);
    return e;
  };
  const hue = (op) => [...op].reduce((h, c) => (h * 31 + c.charCodeAt(0)) % 360, 7);
  nodes.forEach((n, i) => n.inputs.forEach((v) => {
    const from = v in producer ? pos[producer[v]] : inputPos[v];
    if (!from) return;
    const to = pos[i];
    const x1 = from.x + W / 2, y1 = from.y + H, x2 = to.x + W / 2, y2 = to.y;
    add("path", { class: "edge", d: `M${x1},${y1} C${x1},${y1 + GY / 1.5} ${x2},${y2 - GY / 1.5} ${x2},${y2}` });
  }));
  const box = (p, label, fill, cls) => {
    const g = add("g", { class: cls, transform: `translate(${p.x},${p.y})` });
    add("rect", { width: W, height: H, rx: 6, fill, stroke: "rgba(0,0,0,.18)" }, g);
    const t = add("text", { x: W / 2, y: H / 2 + 4, "text-anchor": "middle" }, g);
    t.textContent = label.length > 18 ? label.slice(0, 17) + "…" : label;
    const tip = add("title", {}, g);
    tip.textContent = label;
  };
  inputRow.forEach((name) => box(inputPos[name], name, "#fff", "io"));
  nodes.forEach((n, i) => box(pos[i], n.op, `hsl(${hue(n.op)},70%,88%)`, "node"));
  return svg;
}

async function renderModel(root, path) {
  const view = $("#view-model");
  view.replaceChildren(el("p", { class: "empty", text: "Loading " + path + " …" }));
  let m;
  try {
    m = await getJSON("/api/model?root=" + encodeURIComponent(root) + "&path=" + encodeURIComponent(path));
  } catch (e) {
    view.replaceChildren(el("div", { class: "card" }, el("h2", { text: path }), el("p", { class: "empty", text: "Cannot show this model: " + e.message })));
    return;
  }
  const stat = (value, label) => el("div", { class: "stat" }, el("b", { text: value }), el("span", { text: label }));
  const ports = (title, list) => el("div", { class: "card" }, el("h2", { text: title }),
    el("table", { class: "data" }, el("thead", {}, el("tr", {}, el("th", { text: "name" }), el("th", { text: "type" }), el("th", { text: "shape" }))),
      el("tbody", {}, ...list.map((p) => el("tr", {}, el("td", { text: p.name }), el("td", { text: p.dtype }),
        el("td", { text: Array.isArray(p.shape) ? "[" + p.shape.join(", ") + "]" : "?" }))))));
  const hist = Object.entries(m.op_histogram || {}).sort((a, b) => b[1] - a[1]);
  const most = hist.length ? hist[0][1] : 1;
  const opsets = (m.opsets || []).map((o) => (o.domain || "ai.onnx") + " " + o.version).join(", ");
  view.replaceChildren(
    el("div", { class: "card" }, el("h2", { text: root + " / " + path }), el("div", { class: "sweep-meta", text: (m.producer || "unknown producer") + " · " + opsets })),
    el("div", { class: "stats" }, stat(Number(m.parameters).toLocaleString(), "parameters"), stat(m.nodes, "nodes"),
      stat((m.file_bytes / 1024).toFixed(1) + " KiB", "file"), stat(hist.length, "op types")),
    el("div", { class: "two" }, ports("Inputs", m.inputs || []), ports("Outputs", m.outputs || [])),
    el("div", { class: "card" }, el("h2", { text: "Op histogram" }),
      el("table", { class: "data", id: "op-histogram" }, el("tbody", {}, ...hist.map(([op, n]) =>
        el("tr", { "data-op": op }, el("td", { text: op }), el("td", { class: "num", text: n }),
          el("td", { class: "bar-cell" }, el("div", { class: "bar", style: "width:" + (100 * n / most).toFixed(1) + "%" }))))))),
    el("div", { class: "card" }, el("h2", { text: "Graph" + (m.truncated ? " (first " + m.graph_nodes.length + " nodes)" : "") }),
      el("div", { class: "graph-wrap", id: "graph" }, drawGraph(m.graph_nodes || [], m.inputs || []))));
}

// ---------- routing and polling ----------
async function route() {
  const hash = decodeURIComponent(location.hash.slice(1));
  const model = hash.match(/^model\/(logdir|cache)\/(.+)$/);
  $("#view-runs").hidden = !(hash === "" || hash === "runs");
  $("#view-models").hidden = hash !== "models";
  $("#view-model").hidden = !model;
  $("#nav-runs").classList.toggle("active", !$("#view-runs").hidden);
  $("#nav-models").classList.toggle("active", !$("#view-models").hidden || !!model);
  if (model) await renderModel(model[1], model[2]);
  else if (hash === "models") await renderModels();
  else await refreshRuns();
}

window.mhubBoard = {
  // For tests and the curious: points per curve of each selected run, as drawn.
  curvePoints: () => JSON.parse(JSON.stringify(state.curvePoints)),
  ready: false,
};
window.addEventListener("hashchange", route);
route().then(() => (window.mhubBoard.ready = true));
setInterval(() => { if (!$("#view-runs").hidden) refreshRuns(); }, 2000);
