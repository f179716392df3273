// The dashboard page: one candlestick chart per symbol (open/high/low/close of each window, the
// window's average as a line, its sample count or traded volume beneath) and the health table.
// New and changed windows are fetched every second (only rows written since the last read).
"use strict";

const REFRESH_MS = 1000;
const HEALTH_MS = 2000;
const state = { range: "1h", rows: new Map(), newest: null, symbols: [], watermark: null };

function key(row) { return row.symbol + "|" + row.start; }

async function getJSON(url) {
  const answer = await fetch(url, { cache: "no-store" });
  if (!answer.ok) throw new Error(url + " answered " + answer.status);
  return answer.json();
}

function remember(rows) {
  for (const row of rows) {
    state.rows.set(key(row), row);
    if (state.newest === null || row.updated > state.newest) state.newest = row.updated;
  }
}

function isFinal(row) {
  // a window is final once the watermark has passed its end; before that it can still change
  return state.watermark !== null && Date.parse(row.end) / 1000 <= state.watermark;
}

function chartFor(symbol) {
  let box = document.querySelector(`.chart[data-symbol="${symbol}"]`);
  if (!box) {
    box = document.createElement("div");
    box.className = "chart";
    box.dataset.symbol = symbol;
    document.getElementById("charts").appendChild(box);
  }
  return box;
}

function traces(rows) {
  const final = rows.filter(isFinal), open = rows.filter((r) => !isFinal(r));
  const candle = (part, name, up, down) => ({
    type: "candlestick", name, x: part.map((r) => r.start),
    open: part.map((r) => r.open), high: part.map((r) => r.high),
    low: part.map((r) => r.low), close: part.map((r) => r.close),
    increasing: { line: { color: up } }, decreasing: { line: { color: down } }, yaxis: "y",
  });
  const traded = rows.some((r) => r.volume !== null);
  return [
    candle(final, "window (final)", "#2e9e5b", "#d23b3b"),
    candle(open, "open window (not final)", "#9aa4b8", "#9aa4b8"),
    { type: "scatter", mode: "lines", name: "average", x: rows.map((r) => r.start),
      y: rows.map((r) => r.average), line: { color: "#4c7df0", width: 1.5 }, yaxis: "y" },
    { type: "bar", name: traded ? "volume" : "samples", x: rows.map((r) => r.start),
      y: rows.map((r) => (traded ? r.volume : r.count)), marker: { color: "#c3cad8" }, yaxis: "y2" },
  ];
}

function draw(symbol) {
  const rows = [...state.rows.values()].filter((r) => r.symbol === symbol)
    .sort((a, b) => (a.start < b.start ? -1 : 1));
  const box = chartFor(symbol);
  box.dataset.candles = String(rows.length);
  box.dataset.open = String(rows.filter((r) => !isFinal(r)).length);
  const layout = {
    title: { text: symbol, x: 0.02 }, margin: { l: 60, r: 20, t: 40, b: 30 }, showlegend: false,
    xaxis: { type: "date", rangeslider: { visible: false } },
    yaxis: { domain: [0.28, 1], title: { text: "price" } },
    yaxis2: { domain: [0, 0.22], title: { text: rows.some((r) => r.volume !== null) ? "volume" : "samples" } },
  };
  Plotly.react(box, traces(rows), layout, { displayModeBar: false, responsive: true });
}

async function loadRange(range) {
  state.range = range;
  state.rows = new Map();
  state.newest = null;
  const data = await getJSON(`/api/candles?range=${range}`);
  state.symbols = data.symbols;
  remember(data.rows);
  state.symbols.forEach(draw);
}

async function refresh() {
  const since = state.newest ? `&since=${encodeURIComponent(state.newest)}` : "";
  const data = await getJSON(`/api/candles?range=${state.range}${since}`);
  remember(data.rows);
  const changed = new Set(data.rows.map((r) => r.symbol));
  state.symbols.filter((s) => changed.has(s) || state.watermarkMoved).forEach(draw);
  state.watermarkMoved = false;
  document.getElementById("updated").textContent = "updated " + new Date().toLocaleTimeString();
}

function figureRow(figure) {
  const row = document.createElement("tr");
  row.dataset.figure = figure.name;
  row.dataset.value = figure.value === null ? "" : String(figure.value);
  row.dataset.status = figure.status;
  const value = figure.value === null ? "n/a"
    : (Number.isInteger(figure.value) ? figure.value : figure.value.toFixed(figure.unit === "msg/s" ? 2 : 1));
  row.innerHTML = "<td></td><td></td><td></td><td></td>";
  row.children[0].textContent = figure.name;
  row.children[1].textContent = `${value} ${figure.unit}`.trim();
  row.children[2].innerHTML = `<span class="status ${figure.status}"></span>`;
  row.children[2].firstChild.textContent = figure.status;
  row.children[3].textContent = figure.detail;
  return row;
}

async function refreshHealth() {
  const data = await getJSON("/api/health");
  if (data.watermark !== state.watermark) state.watermarkMoved = true;
  state.watermark = data.watermark;
  document.getElementById("figures").replaceChildren(...data.figures.map(figureRow));
  const overall = document.getElementById("overall");
  overall.className = "status " + data.status;
  overall.textContent = data.status;
  document.body.dataset.healthAt = String(data.read_at);
}

function every(ms, work) {
  const run = () => work().catch((error) => {
    document.getElementById("updated").textContent = "not updating: " + error.message;
  }).finally(() => setTimeout(run, ms));
  run();
}

document.getElementById("ranges").addEventListener("click", (event) => {
  const range = event.target.dataset.range;
  if (!range) return;
  document.querySelectorAll("#ranges button").forEach((b) => b.classList.toggle("chosen", b === event.target));
  loadRange(range);
});

window.addEventListener("load", async () => {
  every(HEALTH_MS, refreshHealth);
  await loadRange(state.range);
  setTimeout(() => every(REFRESH_MS, refresh), REFRESH_MS);
});
