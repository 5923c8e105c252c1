// The affectkit web page: talks to the same REST API as any client; loads nothing from elsewhere.
"use strict";

const $ = (id) => document.getElementById(id);
const SVG = "http://www.w3.org/2000/svg";
const state = { texts: [], response: null, selected: 0, last: null };

function apiKey() { return $("api-key").value.trim(); }

async function api(path, options = {}) {
  const headers = Object.assign({}, options.headers || {});
  if (apiKey()) headers["Authorization"] = "Bearer " + apiKey();
  const response = await fetch(path, Object.assign({}, options, { headers }));
  if (!response.ok) {
    let detail = response.status + " " + response.statusText;
    try {
      const body = await response.json();
      detail = typeof body.detail === "string" ? body.detail
        : (body.detail || []).map((d) => (d.loc || []).slice(1).join(".") + ": " + d.msg).join("; ");
    } catch (e) { /* not JSON: keep the status line */ }
    throw new Error(detail);
  }
  return response;
}

function setStatus(message, isError = false) {
  $("status").textContent = message;
  $("status").className = isError ? "error" : "";
}

function options() {
  const o = { top_k: Math.max(1, parseInt($("top-k").value, 10) || 5) };
  if ($("model").value) o.model = $("model").value;
  if ($("labels").value) o.labels = $("labels").value;
  return o;
}

async function loadChoices() {
  try {
    const models = await (await api("/v1/models")).json();
    const select = $("model");
    select.textContent = "";
    for (const m of models.models) {
      const opt = document.createElement("option");
      opt.value = m.id;
      opt.textContent = m.id + (m.name && m.name !== m.id ? " (" + m.name + ")" : "");
      select.appendChild(opt);
    }
    const sets = await (await api("/v1/labelsets")).json();
    const labels = $("labels");
    for (const ls of sets.labelsets) {
      const opt = document.createElement("option");
      opt.value = ls.name;
      opt.textContent = ls.name + " (" + ls.labels.length + ")";
      labels.appendChild(opt);
    }
    setStatus("");
  } catch (e) {
    setStatus("Could not load models: " + e.message, true);
  }
}

async function run(button, work) {
  button.disabled = true;
  setStatus("Analyzing…");
  const t0 = performance.now();
  try {
    await work();
    setStatus("Done in " + Math.round(performance.now() - t0) + " ms.");
  } catch (e) {
    setStatus(e.message, true);
  } finally {
    button.disabled = false;
  }
}

async function analyzeText() {
  const text = $("text").value;
  if (!text.trim()) { setStatus("Paste a text first.", true); return; }
  const body = Object.assign({ texts: [text] }, options());
  const response = await (await api("/v1/analyze", {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) })).json();
  state.last = { kind: "json", body };
  show([text], response);
}

function fileForm(format) {
  const form = new FormData();
  form.append("file", $("file").files[0]);
  form.append("text_col", $("text-col").value || "text");
  const o = options();
  for (const key of Object.keys(o)) form.append(key, String(o[key]));
  form.append("format", format);
  return form;
}

async function analyzeFile() {
  if (!$("file").files.length) { setStatus("Choose a file first.", true); return; }
  const response = await (await api("/v1/analyze/file", { method: "POST", body: fileForm("json") })).json();
  state.last = { kind: "file" };
  show(response.texts, response);
}

// The corpus report of the uploaded file (what `affectkit report` writes), downloaded as one HTML page.
async function reportFile() {
  if (!$("file").files.length) { setStatus("Choose a file first.", true); return; }
  const form = new FormData();
  form.append("file", $("file").files[0]);
  form.append("text_col", $("text-col").value || "text");
  if ($("model").value) form.append("model", $("model").value);
  const response = await api("/v1/report", { method: "POST", body: form });
  save(await response.blob(), "affectkit-report.html");
  setStatus("Report downloaded: open affectkit-report.html in a browser (it works offline).");
}

function show(texts, response) {
  state.texts = texts;
  state.response = response;
  $("results").hidden = false;
  const n = response.predictions.length;
  const failed = response.predictions.filter((p) => p.error).length;
  $("summary").textContent = n + (n === 1 ? " text" : " texts") + " · model " + response.model +
    " · label set " + response.labelset + (failed ? " · " + failed + " with errors" : "");
  renderTable();
  select(0);
}

function renderTable() {
  const preds = state.response.predictions;
  $("table-card").hidden = preds.length < 2;
  const body = $("rows").querySelector("tbody");
  body.textContent = "";
  preds.forEach((p, i) => {
    const tr = document.createElement("tr");
    tr.dataset.index = i;
    const cells = [String(i + 1), state.texts[i] == null ? "" : state.texts[i], p.emotions.length ? p.emotions[0].label : "",
      p.emotions.length ? p.emotions[0].score.toFixed(3) : "", fmt(p.valence), fmt(p.arousal), p.error || ""];
    cells.forEach((value, c) => {
      const td = document.createElement("td");
      td.textContent = value;
      if (c === 1) { td.className = "text"; td.title = value; }
      if (c === 6) td.className = "error";
      tr.appendChild(td);
    });
    tr.addEventListener("click", () => select(i));
    body.appendChild(tr);
  });
}

function fmt(x) { return x == null ? "" : x.toFixed(3); }

function select(i) {
  state.selected = i;
  const p = state.response.predictions[i];
  for (const tr of $("rows").querySelectorAll("tbody tr")) tr.classList.toggle("selected", Number(tr.dataset.index) === i);
  renderHighlighted(state.texts[i] == null ? "" : state.texts[i], p);
  renderEmotions(p);
  renderFacts(p);
  drawCircumplex();
}

// Evidence offsets count Unicode code points (Python string indices); JavaScript strings count UTF-16 units.
function renderHighlighted(text, p) {
  const out = $("highlighted");
  out.textContent = "";
  const chars = Array.from(text);
  const spans = (p.evidence || []).slice().sort((a, b) => a.start - b.start);
  let pos = 0;
  for (const e of spans) {
    if (e.start < pos || e.end > chars.length) continue;
    out.appendChild(document.createTextNode(chars.slice(pos, e.start).join("")));
    const mark = document.createElement("mark");
    mark.textContent = chars.slice(e.start, e.end).join("");
    mark.title = (e.label || "") + " (weight " + e.weight + ")";
    mark.dataset.label = e.label || "";
    out.appendChild(mark);
    pos = e.end;
  }
  out.appendChild(document.createTextNode(chars.slice(pos).join("")));
  if (p.error) {
    const err = document.createElement("span");
    err.className = "error";
    err.textContent = " — error: " + p.error;
    out.appendChild(err);
  }
}

function renderEmotions(p) {
  const list = $("emotions");
  list.textContent = "";
  for (const e of p.emotions) {
    const li = document.createElement("li");
    li.className = "bar";
    li.dataset.label = e.label;
    li.dataset.score = e.score;
    const name = document.createElement("span");
    name.className = "label";
    name.textContent = e.label;
    const track = document.createElement("span");
    track.className = "track";
    const fill = document.createElement("span");
    fill.className = "fill";
    fill.style.display = "block";
    fill.style.width = (100 * e.score).toFixed(1) + "%";
    track.appendChild(fill);
    const value = document.createElement("span");
    value.className = "value";
    value.textContent = e.score.toFixed(3);
    li.append(name, track, value);
    list.appendChild(li);
  }
}

function renderFacts(p) {
  const facts = [["labels (multi-label)", (p.labels || []).join(", ") || "none"], ["polarity", p.polarity],
    ["valence", fmt(p.valence)], ["arousal", fmt(p.arousal)], ["dominance", fmt(p.dominance)],
    ["intensity", fmt(p.intensity)], ["model", p.model]];
  const dl = $("facts");
  dl.textContent = "";
  for (const [k, v] of facts) {
    if (v == null || v === "") continue;
    const dt = document.createElement("dt");
    dt.textContent = k;
    const dd = document.createElement("dd");
    dd.textContent = v;
    dd.id = "fact-" + k.split(" ")[0];
    dl.append(dt, dd);
  }
}

function el(name, attrs, text) {
  const node = document.createElementNS(SVG, name);
  for (const k of Object.keys(attrs)) node.setAttribute(k, attrs[k]);
  if (text != null) node.textContent = text;
  return node;
}

// Russell (1980): affect as a circle over valence (x) and arousal (y); both -1..1 here.
const C = 160, R = 130;
function drawCircumplex() {
  const svg = $("circumplex");
  svg.textContent = "";
  svg.appendChild(el("circle", { cx: C, cy: C, r: R, class: "ring" }));
  svg.appendChild(el("line", { x1: C - R - 8, y1: C, x2: C + R + 8, y2: C, class: "axis" }));
  svg.appendChild(el("line", { x1: C, y1: C - R - 8, x2: C, y2: C + R + 8, class: "axis" }));
  svg.appendChild(el("text", { x: C + R - 40, y: C - 4 }, "pleasant"));
  svg.appendChild(el("text", { x: C - R + 2, y: C - 4 }, "unpleasant"));
  svg.appendChild(el("text", { x: C + 4, y: C - R + 10 }, "excited"));
  svg.appendChild(el("text", { x: C + 4, y: C + R - 4 }, "calm"));
  const quadrants = [["elated", 1, -1], ["tense", -1, -1], ["sad", -1, 1], ["relaxed", 1, 1]];
  for (const [name, sx, sy] of quadrants) {
    svg.appendChild(el("text", { x: C + sx * R * 0.55 - 15, y: C + sy * R * 0.55, class: "quadrant" }, name));
  }
  const preds = state.response ? state.response.predictions : [];
  preds.forEach((p, i) => {
    if (p.valence == null || p.arousal == null || i === state.selected) return;
    svg.appendChild(dot(p, i, false));
  });
  const p = preds[state.selected];
  if (p && p.valence != null && p.arousal != null) {
    svg.appendChild(dot(p, state.selected, true));
    const x = C + p.valence * R, y = C - p.arousal * R;
    svg.appendChild(el("text", { x: x + 8, y: y - 8, id: "vad-label" }, (p.emotions[0] || {}).label || ""));
  }
}

function dot(p, i, selected) {
  const node = el("circle", { cx: (C + p.valence * R).toFixed(2), cy: (C - p.arousal * R).toFixed(2),
    r: selected ? 7 : 4, class: "dot" + (selected ? " selected" : ""), "data-index": i });
  node.appendChild(el("title", {}, "valence " + fmt(p.valence) + ", arousal " + fmt(p.arousal)));
  node.addEventListener("click", () => select(i));
  return node;
}

function save(blob, name) {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

function downloadJson() {
  const r = state.response;
  const rows = r.predictions.map((p, i) => Object.assign({ text: state.texts[i] }, p));
  save(new Blob([JSON.stringify({ model: r.model, labelset: r.labelset, results: rows }, null, 2)],
    { type: "application/json" }), "affectkit-results.json");
}

// The CSV is the file `affectkit analyze` writes: the server makes it from the same request.
async function downloadCsv() {
  let response;
  if (state.last.kind === "json") {
    response = await api("/v1/analyze", { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify(Object.assign({}, state.last.body, { format: "csv" })) });
  } else {
    response = await api("/v1/analyze/file", { method: "POST", body: fileForm("csv") });
  }
  save(await response.blob(), "affectkit-results.csv");
}

async function init() {
  $("controls").addEventListener("submit", (ev) => ev.preventDefault());
  $("api-key").value = sessionStorage.getItem("affectkit-key") || "";
  $("api-key").addEventListener("change", () => {
    sessionStorage.setItem("affectkit-key", apiKey());
    loadChoices();
  });
  $("analyze").addEventListener("click", (ev) => run(ev.currentTarget, analyzeText));
  $("analyze-file").addEventListener("click", (ev) => run(ev.currentTarget, analyzeFile));
  $("report-file").addEventListener("click", (ev) => run(ev.currentTarget, reportFile));
  $("download-json").addEventListener("click", downloadJson);
  $("download-csv").addEventListener("click", (ev) => run(ev.currentTarget, downloadCsv));
  drawCircumplex();
  try {
    const health = await (await fetch("/healthz")).json();
    $("key-field").hidden = !health.auth;
    if (health.auth && !apiKey()) { setStatus("This server needs an API key: enter it above."); return; }
  } catch (e) {
    setStatus("The server does not answer: " + e.message, true);
    return;
  }
  await loadChoices();
}

init();
