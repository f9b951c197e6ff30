// ragtrack UI helpers shared by every page: window.ragtrack.
// No framework; Plotly (served from the installed plotly package) draws charts.
(function () {
  "use strict";

  function toast(message, isError) {
    const el = document.getElementById("toast");
    if (!el) return;
    el.textContent = message;
    el.classList.toggle("error", !!isError);
    el.hidden = false;
    clearTimeout(toast._timer);
    toast._timer = setTimeout(() => { el.hidden = true; }, isError ? 8000 : 3000);
  }

  // The server's JSON error body {"error": {"code", "message", "field"}} -> Error(message).
  async function errorFrom(response) {
    try {
      const body = await response.json();
      if (body && body.error) {
        const err = new Error(body.error.message);
        err.code = body.error.code; err.field = body.error.field; err.status = response.status;
        return err;
      }
    } catch (_) { /* not JSON */ }
    const err = new Error(`${response.status} ${response.statusText}`);
    err.status = response.status;
    return err;
  }

  // The server writes NaN and Infinity as bare tokens (the wire format), which JSON.parse
  // refuses: turn them (outside string literals) into sentinel strings, then back.
  const SENTINEL = "\u0000ragtrack:";
  function parseWire(text) {
    const quoted = text.replace(/"(?:[^"\\]|\\.)*"|(-?Infinity|NaN)/g,
      (m, token) => (token ? JSON.stringify(SENTINEL + token) : m));
    return JSON.parse(quoted, (_k, v) => {
      if (typeof v !== "string" || !v.startsWith(SENTINEL)) return v;
      const token = v.slice(SENTINEL.length);
      return token === "NaN" ? NaN : token === "Infinity" ? Infinity : -Infinity;
    });
  }

  async function getJSON(url, options) {
    const response = await fetch(url, Object.assign({ headers: { Accept: "application/json" }, credentials: "same-origin" }, options || {}));
    if (!response.ok) throw await errorFrom(response);
    return parseWire(await response.text());
  }

  async function sendJSON(method, url, body) {
    return getJSON(url, { method: method, headers: { "Content-Type": "application/json", Accept: "application/json" }, body: JSON.stringify(body) });
  }

  function formatNumber(x) {
    if (x === null || x === undefined) return "";
    if (typeof x === "boolean") return x ? "true" : "false";
    if (typeof x !== "number") return String(x);
    if (Number.isNaN(x)) return "NaN";
    if (!Number.isFinite(x)) return x > 0 ? "∞" : "-∞";
    if (Number.isInteger(x) && Math.abs(x) < 1e15) return String(x);
    if (x !== 0 && (Math.abs(x) >= 1e6 || Math.abs(x) < 1e-4)) return x.toPrecision(4);
    return Math.abs(x) < 1 ? String(Number(x.toPrecision(4))) : String(Number(x.toPrecision(6)));
  }

  // Mirrors of the server's filters (ragtrack/server/ui/_templates.py).
  function formatTime(epoch) {
    if (epoch === null || epoch === undefined) return "";
    return new Date(epoch * 1000).toISOString().slice(0, 19).replace("T", " ") + " UTC";
  }

  function formatDuration(s) {
    if (s === null || s === undefined || !Number.isFinite(s)) return "";
    if (s < 1) return `${Math.round(s * 1000)} ms`;
    if (s < 60) return `${s.toFixed(1)} s`;
    const pad = (n) => String(n).padStart(2, "0");
    let m = Math.floor(s / 60); const sec = Math.floor(s) % 60;
    if (m < 60) return `${m}m ${pad(sec)}s`;
    let h = Math.floor(m / 60); m %= 60;
    if (h < 24) return `${h}h ${pad(m)}m`;
    const d = Math.floor(h / 24); h %= 24;
    return `${d}d ${h}h`;
  }

  function escapeHTML(s) {
    return String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
  }

  function debounce(fn, ms) {
    let timer = null;
    return function (...args) { clearTimeout(timer); timer = setTimeout(() => fn.apply(this, args), ms); };
  }

  // A spreadsheet runs a cell starting with = + - @, tab or CR as a formula, and names,
  // tags and params are user-controlled: OWASP's CSV-injection advice is to prefix such a
  // cell with a single quote. Numbers stay numbers (-0.5 and -Infinity are not formulas).
  const FORMULA_START = /^[=+\-@\t\r]/;
  const NUMBER = /^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$|^[-+]?Infinity$|^NaN$/;
  function csvCell(v) {
    let s = v === null || v === undefined ? "" : String(v);
    if (typeof v !== "number" && FORMULA_START.test(s) && !NUMBER.test(s)) s = "'" + s;
    return /[",\n\r]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
  }

  function downloadText(filename, text, type) {
    const url = URL.createObjectURL(new Blob([text], { type: type || "text/plain;charset=utf-8" }));
    const a = document.createElement("a");
    a.href = url; a.download = filename; document.body.appendChild(a); a.click(); a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  }

  function downloadCSV(filename, rows) {
    const text = rows.map((row) => row.map(csvCell).join(",")).join("\r\n") + "\r\n";
    downloadText(filename, text, "text/csv;charset=utf-8");
  }

  // A run name or metric key as a file name: "train/loss" -> "train_loss".
  const safeFileName = (s) => String(s).replace(/[^\w.@-]+/g, "_");

  // The text of a table (header + body rows) as CSV rows; cells may carry data-value.
  function tableRows(table) {
    return Array.from(table.querySelectorAll("tr")).map((tr) =>
      Array.from(tr.querySelectorAll("th, td")).filter((c) => !c.classList.contains("no-export"))
        .map((c) => (c.dataset.value !== undefined ? c.dataset.value : c.textContent.trim())));
  }

  const plotConfig = (filename) => ({
    responsive: true, displaylogo: false, showSendToCloud: false,
    toImageButtonOptions: { format: "png", filename: filename || "ragtrack-chart", scale: 2 },
    modeBarButtonsToRemove: ["lasso2d", "select2d"],
  });

  // Draw (or redraw) a chart; Plotly's mode bar has the PNG download button.
  function plot(el, traces, layout, filename) {
    const base = { margin: { l: 55, r: 15, t: 10, b: 40 }, hovermode: "closest", font: { size: 11 },
      legend: { orientation: "h", y: -0.2 }, uirevision: "keep" };
    return window.Plotly.react(el, traces, Object.assign(base, layout || {}), plotConfig(filename));
  }

  // Draw charts only when they scroll into view (a run may have hundreds of series).
  function whenVisible(el, fn) {
    if (!("IntersectionObserver" in window)) { fn(); return; }
    const observer = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting)) { observer.disconnect(); fn(); }
    }, { rootMargin: "200px" });
    observer.observe(el);
  }

  // Replace the page's query string (shareable URL) without a reload.
  function setQuery(params) {
    const url = new URL(window.location.href);
    for (const [k, v] of Object.entries(params)) {
      if (v === null || v === undefined || v === "" || v === false) url.searchParams.delete(k);
      else url.searchParams.set(k, v);
    }
    // Commas are legal in a query string and keep run lists and columns readable.
    window.history.replaceState(null, "", url.toString().replace(/%2C/gi, ","));
  }

  window.ragtrack = { toast, getJSON, sendJSON, parseWire, formatNumber, formatTime,
    formatDuration, escapeHTML, debounce, downloadText, downloadCSV, safeFileName, tableRows, plot,
    whenVisible, setQuery };
})();
