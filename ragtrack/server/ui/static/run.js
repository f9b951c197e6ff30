// The run page: tabs, lazily drawn metric charts, log search and tailing, tag and
// notes editing, and polling of the page's JSON twin while the run is live.
(function () {
  "use strict";
  const rt = window.ragtrack;
  const data = rt.parseWire(document.getElementById("run-data").textContent);
  const links = data.links;
  const LIVE = ["created", "queued", "running"];
  const POLL_MS = 3000;
  const LOG_POLL_MS = 2000;
  const MAX_POINTS = 2000;
  const $ = (sel, root) => (root || document).querySelector(sel);
  const $$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));
  const esc = rt.escapeHTML;

  let status = data.status;
  let metricCounts = data.metric_counts || {};
  let startedAt = data.started_at;

  const fmtTime = rt.formatTime;
  const fmtDuration = rt.formatDuration;
  const badge = (s) => `<span class="status status-${esc(s)}">${esc(s)}</span>`;
  const safeName = rt.safeFileName;

  // ---------------------------------------------------------------- tabs
  const tabs = $$('[role="tab"]');
  const tabName = (tab) => tab.id.replace(/^tab-/, "");
  const onShow = {};

  function selectTab(name, focus) {
    const tab = tabs.find((t) => tabName(t) === name) || tabs[0];
    for (const t of tabs) {
      const selected = t === tab;
      t.setAttribute("aria-selected", String(selected));
      t.tabIndex = selected ? 0 : -1;
      document.getElementById(t.getAttribute("aria-controls")).hidden = !selected;
    }
    if (focus) tab.focus();
    const shown = tabName(tab);
    const url = new URL(window.location.href);
    // A plain visit keeps its plain URL; a chosen tab goes into the hash (shareable).
    if (url.hash !== "#" + shown && (url.hash || shown !== "overview")) {
      url.hash = shown;
      window.history.replaceState(null, "", url.toString());
    }
    if (onShow[shown]) onShow[shown]();
  }

  for (const tab of tabs) {
    tab.addEventListener("click", () => selectTab(tabName(tab), false));
    tab.addEventListener("keydown", (e) => {
      const i = tabs.indexOf(tab);
      const to = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: tabs.length - 1 }[e.key];
      if (to === undefined) return;
      e.preventDefault();
      selectTab(tabName(tabs[(to + tabs.length) % tabs.length]), true);
    });
  }
  window.addEventListener("hashchange", () => selectTab(window.location.hash.slice(1), false));

  // ---------------------------------------------------------------- chart settings
  // Shared by every chart of both chart tabs and kept in the query string, but for the
  // x axis: training curves read by step (x=), system metrics by wall time (sx=), since
  // CPU and memory are sampled on a clock, not at steps.
  const query = new URLSearchParams(window.location.search);
  const X_MODES = ["step", "time", "relative"];
  const X_PARAMS = { charts: { param: "x", fallback: "step" }, system: { param: "sx", fallback: "time" } };
  const xFromQuery = (panel) => {
    const { param, fallback } = X_PARAMS[panel];
    return X_MODES.includes(query.get(param)) ? query.get(param) : fallback;
  };
  const settings = {
    smoothing: Math.min(0.99, Math.max(0, parseFloat(query.get("smoothing")) || 0)),
    x: { charts: xFromQuery("charts"), system: xFromQuery("system") },
    log: query.get("log") === "1",
  };
  const panelOf = (el) => (el.closest('[role="tabpanel"]') || {}).id === "panel-system" ? "system" : "charts";

  function syncControls() {
    for (const el of $$(".ctl-smoothing")) el.value = settings.smoothing;
    for (const el of $$(".ctl-smoothing-value")) el.textContent = settings.smoothing.toFixed(2);
    for (const el of $$(".ctl-x")) el.value = settings.x[panelOf(el)];
    for (const el of $$(".ctl-log")) el.checked = settings.log;
  }

  function saveSettings() {
    const xs = {};
    for (const [panel, { param, fallback }] of Object.entries(X_PARAMS)) {
      xs[param] = settings.x[panel] === fallback ? null : settings.x[panel];
    }
    rt.setQuery(Object.assign({
      smoothing: settings.smoothing > 0 ? settings.smoothing.toFixed(2) : null,
      log: settings.log ? "1" : null,
    }, xs));
  }

  // Every chart asked for so far, drawn or still loading (its answer has the old smoothing).
  const refetchAll = rt.debounce(() => { for (const entry of charts.values()) if (entry.seq > 0) loadChart(entry); }, 250);
  for (const el of $$(".ctl-smoothing")) {
    el.addEventListener("input", () => {
      settings.smoothing = parseFloat(el.value) || 0;
      syncControls(); saveSettings(); refetchAll();
    });
  }
  for (const el of $$(".ctl-x")) {
    el.addEventListener("change", () => { settings.x[panelOf(el)] = el.value; syncControls(); saveSettings(); redrawAll(); });
  }
  for (const el of $$(".ctl-log")) {
    el.addEventListener("change", () => { settings.log = el.checked; syncControls(); saveSettings(); redrawAll(); });
  }

  // ---------------------------------------------------------------- charts
  const charts = new Map(); // key -> {key, card, el, note, data, seq}

  function seriesURL(key) {
    const q = new URLSearchParams({ key: key, max_points: String(MAX_POINTS), smoothing: settings.smoothing.toFixed(2) });
    return `${links.series}?${q}`;
  }

  function setupCard(card) {
    const key = card.dataset.key;
    if (card.dataset.single) return;
    const entry = { key: key, card: card, el: $(".chart", card), note: $(".chart-note", card), data: null, seq: 0,
      panel: panelOf(card) };
    charts.set(key, entry);
    $(".csv", card).addEventListener("click", () => downloadChartCSV(entry));
    rt.whenVisible(card, () => loadChart(entry));
  }

  async function loadChart(entry) {
    const seq = ++entry.seq;
    try {
      const chart = await rt.getJSON(seriesURL(entry.key));
      if (seq !== entry.seq) return; // a newer request (other smoothing) superseded this one
      entry.data = chart;
      drawChart(entry);
    } catch (err) {
      if (seq !== entry.seq) return;
      entry.el.innerHTML = `<p class="form-error">Could not load ${esc(entry.key)}: ${esc(err.message)}</p>`;
    }
  }

  function xValues(chart, mode) {
    if (mode === "time") {
      // UTC wall time, like every time the page prints.
      return chart.times.map((t) => new Date(t * 1000).toISOString().slice(0, 23).replace("T", " "));
    }
    if (mode === "relative") {
      const t0 = startedAt !== null && startedAt !== undefined ? startedAt : chart.times[0];
      return chart.times.map((t) => t - t0);
    }
    return chart.steps;
  }

  function drawChart(entry) {
    const chart = entry.data;
    if (!chart) return;
    if (chart.n_points === 0 || chart.n_finite === 0) {
      // Plotly would draw empty axes, which reads as "still loading" or "all zero".
      window.Plotly.purge(entry.el);
      const n = chart.n_points;
      entry.el.innerHTML = n === 0 ? '<p class="muted chart-loading">No points.</p>'
        : `<p class="muted chart-loading chart-nothing">Nothing to draw: all ${n.toLocaleString()} point${n === 1 ? " is" : "s are"} NaN or infinite.</p>`;
      entry.note.textContent = "";
      return;
    }
    const loading = $(".chart-loading", entry.el);
    if (loading) loading.remove();
    const xMode = settings.x[entry.panel];
    const x = xValues(chart, xMode);
    const color = "#0969da";
    const smoothed = settings.smoothing > 0 && Array.isArray(chart.smoothed);
    const markers = chart.steps.length <= 60 ? "lines+markers" : "lines";
    const traces = [{
      x: x, y: chart.values, type: "scatter", mode: markers, name: entry.key,
      line: { color: color, width: smoothed ? 1 : 1.6 }, marker: { size: 4 }, opacity: smoothed ? 0.3 : 1,
    }];
    if (smoothed) {
      traces.push({ x: x, y: chart.smoothed, type: "scatter", mode: "lines", name: "smoothed",
        line: { color: color, width: 2.2 } });
    }
    const xTitle = { step: "step", time: "wall time (UTC)", relative: "seconds since start" }[xMode];
    const layout = {
      showlegend: false,
      xaxis: { title: { text: xTitle }, type: xMode === "time" ? "date" : "linear", automargin: true },
      yaxis: { type: settings.log ? "log" : "linear", automargin: true, exponentformat: "e" },
      // Zoom survives a live refresh but not a change of axes.
      uirevision: `${xMode}-${settings.log}`,
      margin: { l: 55, r: 15, t: 10, b: 45 },
    };
    rt.plot(entry.el, traces, layout, safeName(`${data.name}-${entry.key}`));
    const skipped = chart.n_points - chart.n_finite;
    entry.note.textContent = (chart.downsampled
      ? `Showing ${chart.steps.length.toLocaleString()} points, downsampled from ${chart.n_points.toLocaleString()} points.`
      : `${chart.n_points.toLocaleString()} point${chart.n_points === 1 ? "" : "s"}.`) +
      (skipped > 0 ? ` ${skipped.toLocaleString()} NaN or infinite, not drawn.` : "");
  }

  function redrawAll() { for (const entry of charts.values()) drawChart(entry); }

  async function downloadChartCSV(entry) {
    if (!entry.data) await loadChart(entry);
    const chart = entry.data;
    if (!chart) return;
    const smoothed = settings.smoothing > 0 && Array.isArray(chart.smoothed);
    const rows = [["step", "time", "value"].concat(smoothed ? ["smoothed"] : [])];
    chart.steps.forEach((step, i) => {
      const row = [step, new Date(chart.times[i] * 1000).toISOString(), chart.values[i]];
      if (smoothed) row.push(chart.smoothed[i]);
      rows.push(row);
    });
    rt.downloadCSV(safeName(`${data.name}-${entry.key}`) + ".csv", rows);
  }

  // Key filter per chart tab; shown when there are enough charts to need one.
  function setupFilter(panel) {
    const input = $(".chart-filter", panel);
    const controls = $(".chart-controls", panel);
    const cards = () => $$(".metric-card", panel);
    const update = () => {
      const n = cards().length;
      if (controls) controls.hidden = n === 0;
      if (input) input.hidden = n <= 6;
      const empty = $(".charts-empty", panel);
      if (empty) empty.hidden = n > 0;
    };
    if (input) {
      input.addEventListener("input", () => {
        const q = input.value.trim().toLowerCase();
        for (const card of cards()) card.hidden = q !== "" && !card.dataset.key.toLowerCase().includes(q);
        for (const group of $$(".metric-group", panel)) {
          group.hidden = !$$(".metric-card", group).some((c) => !c.hidden);
        }
      });
    }
    update();
    return update;
  }

  // Python's group_keys, for keys a live run starts logging after the page loaded.
  function groupOf(key) {
    if (key.startsWith("system/")) {
      const rest = key.slice(7);
      if (rest.includes("/")) return rest.split("/")[0];
      if (rest.startsWith("gpu.")) return rest.split(".").slice(0, 2).join(".");
      return rest.includes("_") ? rest.split("_")[0] : "system";
    }
    return key.includes("/") ? key.split("/")[0] : "other";
  }

  function addChartCard(key) {
    const panel = document.getElementById(key.startsWith("system/") ? "panel-system" : "panel-charts");
    const title = groupOf(key);
    let group = $$(".metric-group", panel).find((g) => g.dataset.group === title);
    if (!group) {
      group = document.createElement("section");
      group.className = "metric-group"; group.dataset.group = title;
      group.setAttribute("aria-label", `${title} metrics`);
      group.innerHTML = `<h2>${esc(title)}</h2><div class="value-tiles"></div><div class="grid chart-grid"></div>`;
      $(".chart-groups", panel).appendChild(group);
    }
    const card = document.createElement("article");
    card.className = "card metric-card"; card.dataset.key = key;
    card.innerHTML = `<div class="card-head"><h3>${esc(key)}</h3><button type="button" class="small csv" aria-label="Download ${esc(key)} as CSV">CSV</button></div>` +
      `<div class="chart" role="img" aria-label="Chart of ${esc(key)}"><p class="muted chart-loading">Loading…</p></div><p class="chart-note muted small" aria-live="polite"></p>`;
    $(".chart-grid", group).appendChild(card);
    setupCard(card);
    filterUpdates[panel.id]();
  }

  // ---------------------------------------------------------------- overview: tags, notes, params
  function renderTags(tags) {
    const box = document.getElementById("tags");
    box.innerHTML = tags.length
      ? tags.map((t) => `<span class="chip" data-tag="${esc(t)}">${esc(t)}<button type="button" class="tag-remove" aria-label="Remove tag ${esc(t)}" data-tag="${esc(t)}">×</button></span>`).join("")
      : '<span class="muted">No tags.</span>';
  }

  async function patchRun(body, done) {
    try {
      const run = await rt.sendJSON("PATCH", links.api, body);
      renderTags(run.tags);
      rt.toast(done);
      return run;
    } catch (err) {
      rt.toast(`Not saved: ${err.message}`, true);
      return null;
    }
  }

  document.getElementById("tags").addEventListener("click", (e) => {
    const button = e.target.closest(".tag-remove");
    if (button) patchRun({ tags_remove: [button.dataset.tag] }, `Removed tag “${button.dataset.tag}”.`);
  });
  document.getElementById("tag-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const input = document.getElementById("tag-input");
    const tag = input.value.trim();
    if (!tag) return;
    if (await patchRun({ tags_add: [tag] }, `Added tag “${tag}”.`)) input.value = "";
  });

  const notes = document.getElementById("notes");
  const notesState = document.getElementById("notes-state");
  notes.addEventListener("input", () => { notesState.textContent = "Unsaved changes"; });
  document.getElementById("notes-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    if (await patchRun({ notes: notes.value }, "Notes saved.")) notesState.textContent = "Saved";
  });

  const paramsFilter = document.getElementById("params-filter");
  if (paramsFilter) {
    paramsFilter.addEventListener("input", () => {
      const q = paramsFilter.value.trim().toLowerCase();
      const items = $$("#params-tree li");
      const matches = new Set();
      for (const li of items) {
        const value = li.classList.contains("leaf") ? $(".value", li).textContent : "";
        if (q === "" || li.dataset.path.toLowerCase().includes(q) || value.toLowerCase().includes(q)) matches.add(li);
      }
      let shown = 0;
      for (const li of items) {
        let visible = matches.has(li) || $$("li", li).some((d) => matches.has(d));
        for (let a = li.parentElement.closest("li"); a && !visible; a = a.parentElement.closest("li")) visible = matches.has(a);
        li.classList.toggle("filtered-out", !visible);
        if (visible && li.classList.contains("leaf")) shown += 1;
        const details = li.querySelector(":scope > details");
        if (details && q !== "" && visible) details.open = true;
      }
      document.getElementById("params-count").textContent = q ? `${shown} matching parameter${shown === 1 ? "" : "s"}` : "";
    });
  }

  const summaryCSV = document.getElementById("summary-csv");
  summaryCSV.addEventListener("click", () => {
    rt.downloadCSV(safeName(`${data.name}-summary`) + ".csv", rt.tableRows(document.getElementById("summary-table")));
  });

  function renderSummary(run) {
    const summary = Object.assign({}, Object.fromEntries(Object.entries(run.metrics).map(([k, s]) => [k, s.last])), run.explicit_summary);
    const system = (k) => k.startsWith("system/");
    const keys = Object.keys(summary).sort((a, b) => (system(a) - system(b)) || (a < b ? -1 : a > b ? 1 : 0));
    const num = (v) => `<td class="num" data-value="${esc(v)}" title="${esc(v)}">${esc(rt.formatNumber(v))}</td>`;
    document.querySelector("#summary-table tbody").innerHTML = keys.map((k) => {
      const v = summary[k]; const s = run.metrics[k];
      const value = v !== null && typeof v === "object" ? `<td class="wrap mono">${esc(JSON.stringify(v))}</td>` : num(v);
      const stats = s ? num(s.min) + num(s.max) + `<td class="num">${s.count}</td><td class="num">${s.last_step}</td>` : "<td></td><td></td><td></td><td></td>";
      return `<tr data-key="${esc(k)}"${system(k) ? ' class="system-row"' : ""}><th scope="row">${esc(k).replace(/\//g, "/<wbr>")}</th>${value}${stats}</tr>`;
    }).join("");
    document.querySelector("#summary-table").closest(".table-wrap").hidden = keys.length === 0;
    document.getElementById("summary-empty").hidden = keys.length > 0;
    summaryCSV.hidden = keys.length === 0;
  }

  // ---------------------------------------------------------------- metadata
  const copyButton = document.getElementById("copy-command");
  if (copyButton) {
    copyButton.addEventListener("click", async () => {
      const text = document.getElementById("reproduce-command").textContent;
      try {
        await navigator.clipboard.writeText(text);
      } catch (_) {
        // No clipboard API outside secure contexts (http on another host): select and copy.
        const range = document.createRange();
        range.selectNodeContents(document.getElementById("reproduce-command"));
        const selection = window.getSelection();
        selection.removeAllRanges(); selection.addRange(range);
        if (!document.execCommand("copy")) { rt.toast("Press Ctrl+C to copy the selected command."); return; }
      }
      rt.toast("Command copied.");
    });
  }
  const diffButton = document.getElementById("diff-download");
  if (diffButton) {
    diffButton.addEventListener("click", async () => {
      try {
        const page = await rt.getJSON(links.json);
        rt.downloadText(safeName(`${data.name}`) + ".diff", page.metadata.git.diff, "text/x-diff;charset=utf-8");
      } catch (err) { rt.toast(`Could not download the diff: ${err.message}`, true); }
    });
  }
  function tableFilter(inputId, rowSelector, countId, noun) {
    const input = document.getElementById(inputId);
    if (!input) return;
    input.addEventListener("input", () => {
      const q = input.value.trim().toLowerCase();
      let shown = 0;
      const rows = $$(rowSelector);
      for (const row of rows) {
        const hit = row.textContent.toLowerCase().includes(q);
        row.hidden = !hit; if (hit) shown += 1;
      }
      const count = countId && document.getElementById(countId);
      if (count) count.textContent = q ? `${shown} of ${rows.length} ${noun}` : `${rows.length} ${noun}`;
    });
  }
  tableFilter("packages-filter", "#packages-table tbody tr", "packages-count", "packages");
  tableFilter("artifacts-filter", "#artifacts-table tbody tr", null, "artifacts");

  // ---------------------------------------------------------------- logs
  const logView = document.getElementById("log-view");
  const logSearch = document.getElementById("log-search");
  const logStream = document.getElementById("log-stream");
  const logFollow = document.getElementById("log-follow");
  const logMatches = document.getElementById("log-matches");
  const logNotice = document.getElementById("log-truncated");
  const MAX_LOG_CHARS = 2000000; // kept in the page; older text is dropped while tailing
  const logs = { text: "", offset: 0, loaded: false, timer: null, seq: 0 };

  function renderLogs() {
    const q = logSearch.value;
    const atBottom = logView.scrollHeight - logView.scrollTop - logView.clientHeight < 40;
    logView.setAttribute("aria-busy", "false");
    if (!logs.text) {
      logView.innerHTML = '<span class="muted">No console output was captured for this run.</span>';
      logMatches.textContent = "";
      return;
    }
    if (!q) {
      logView.textContent = logs.text;
      logMatches.textContent = "";
    } else {
      const needle = q.toLowerCase();
      const lines = logs.text.split("\n");
      const out = [];
      let count = 0;
      lines.forEach((line, i) => {
        const lower = line.toLowerCase();
        if (!lower.includes(needle)) return;
        count += 1;
        let html = ""; let at = 0; let hit;
        while ((hit = lower.indexOf(needle, at)) !== -1) {
          html += esc(line.slice(at, hit)) + "<mark>" + esc(line.slice(hit, hit + needle.length)) + "</mark>";
          at = hit + needle.length;
        }
        out.push(`<span class="ln">${i + 1}</span>${html}${esc(line.slice(at))}`);
      });
      logView.innerHTML = out.join("\n") || '<span class="muted">No line matches.</span>';
      logMatches.textContent = `${count} matching line${count === 1 ? "" : "s"}`;
    }
    if (logFollow.checked && atBottom) logView.scrollTop = logView.scrollHeight;
  }

  async function fetchLogs(reset) {
    if (reset) { logs.text = ""; logs.offset = 0; }
    const seq = ++logs.seq;
    const q = new URLSearchParams({ offset: String(logs.offset), stream: logStream.value });
    try {
      const chunk = await rt.getJSON(`${links.logs}?${q}`);
      if (seq !== logs.seq) return;
      if (chunk.truncated) {
        logs.text = "";
        logNotice.textContent = `Showing the last ${(chunk.size - chunk.start).toLocaleString()} of ${chunk.size.toLocaleString()} characters; earlier output is in the API (GET ${links.api}/logs).`;
        logNotice.hidden = false;
      } else if (reset) {
        logNotice.hidden = true;
      }
      logs.text += chunk.text;
      if (logs.text.length > MAX_LOG_CHARS) logs.text = logs.text.slice(logs.text.indexOf("\n", logs.text.length - MAX_LOG_CHARS) + 1);
      logs.offset = chunk.offset;
      logs.loaded = true;
      if (chunk.text || reset) renderLogs();
    } catch (err) {
      logView.innerHTML = `<span class="form-error">Could not load the log: ${esc(err.message)}</span>`;
    }
  }

  function scheduleLogs() {
    clearTimeout(logs.timer);
    if (!logFollow.checked || !LIVE.includes(status)) return;
    logs.timer = setTimeout(async () => {
      const panelShown = !document.getElementById("panel-logs").hidden;
      if (!document.hidden && panelShown) await fetchLogs(false);
      scheduleLogs();
    }, LOG_POLL_MS);
  }

  logSearch.addEventListener("input", rt.debounce(renderLogs, 150));
  logStream.addEventListener("change", () => fetchLogs(true));
  logFollow.addEventListener("change", () => {
    if (logFollow.checked) { logView.scrollTop = logView.scrollHeight; fetchLogs(false); }
    scheduleLogs();
  });
  onShow.logs = () => { if (!logs.loaded) fetchLogs(true).then(scheduleLogs); };

  const resizeCharts = (panelId) => () => {
    for (const entry of charts.values()) {
      if (entry.data && entry.el.closest(`#${panelId}`) && entry.el.classList.contains("js-plotly-plot")) window.Plotly.Plots.resize(entry.el);
    }
  };
  onShow.charts = resizeCharts("panel-charts");
  onShow.system = resizeCharts("panel-system");

  // ---------------------------------------------------------------- live updates
  const liveNote = document.getElementById("live-note");
  const LIVE_TEXT = liveNote.textContent; // the server's wording: "Live: updating every 3 s"

  function applyRun(page) {
    const run = page.run;
    const changed = run.status !== status;
    status = run.status;
    startedAt = run.started_at;
    document.getElementById("run-status").innerHTML = badge(run.status);
    document.getElementById("fact-status").innerHTML = badge(run.status);
    document.getElementById("fact-ended").textContent = fmtTime(run.ended_at);
    const end = run.ended_at !== null ? run.ended_at : run.heartbeat_at;
    document.getElementById("fact-duration").textContent =
      run.started_at !== null && end !== null ? fmtDuration(Math.max(0, end - run.started_at)) : "";
    document.getElementById("fact-heartbeat").textContent = fmtTime(run.heartbeat_at);
    renderSummary(run);
    renderTags(run.tags);
    if (changed && run.error) {
      const lines = run.error.split("\n").filter((l) => l.trim());
      const headline = lines.length ? lines[lines.length - 1].trim() : "";
      const title = run.status.charAt(0).toUpperCase() + run.status.slice(1);
      document.getElementById("run-error-box").innerHTML =
        `<div class="error-message run-error" role="alert"><strong>${esc(title)}:</strong> ${esc(headline)}` +
        `<details><summary>Full error</summary><pre>${esc(run.error)}</pre></details></div>`;
    } else if (changed && run.status === "crashed") {
      document.getElementById("run-error-box").innerHTML =
        '<div class="error-message run-error" role="alert"><strong>Crashed:</strong> the run stopped sending heartbeats without finishing.</div>';
    }
    // Charts: new keys get a card; loaded charts whose series grew are fetched again.
    const keys = page.metric_keys.concat(page.system_keys);
    for (const key of keys) {
      const count = run.metrics[key] ? run.metrics[key].count : 0;
      const tile = $$(".metric-card[data-single]").find((c) => c.dataset.key === key);
      if (tile && count > 1) { tile.remove(); addChartCard(key); continue; }
      const entry = charts.get(key);
      if (!entry && !tile) { addChartCard(key); continue; }
      if (entry && entry.data && count !== (metricCounts[key] || 0)) loadChart(entry);
    }
    metricCounts = Object.fromEntries(Object.entries(run.metrics).map(([k, s]) => [k, s.count]));
    document.getElementById("count-charts").textContent = page.metric_keys.length;
    document.getElementById("count-system").textContent = page.system_keys.length;
  }

  async function poll() {
    if (!document.hidden) {
      try {
        applyRun(await rt.getJSON(`${links.json}?fields=run,metric_keys,system_keys`));
        // A poll that failed before and works again: the page is live again, say so.
        liveNote.textContent = LIVE.includes(status) ? LIVE_TEXT : "";
      } catch (err) {
        liveNote.textContent = `Live updates paused: ${err.message}`;
      }
    }
    if (LIVE.includes(status)) {
      setTimeout(poll, POLL_MS);
    } else {
      liveNote.textContent = "";
      logFollow.checked = false; logFollow.disabled = true;
      if (logs.loaded) fetchLogs(false);
      rt.toast(`The run has ${status}.`);
    }
  }

  // ---------------------------------------------------------------- start
  syncControls();
  const filterUpdates = {};
  for (const id of ["panel-charts", "panel-system"]) filterUpdates[id] = setupFilter(document.getElementById(id));
  $$(".metric-card").forEach(setupCard);
  selectTab(window.location.hash.slice(1) || "overview", false);
  if (LIVE.includes(status)) setTimeout(poll, POLL_MS);
})();
