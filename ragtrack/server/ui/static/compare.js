// The compare page (overlaid curves, parallel coordinates, scatter, importance panel)
// and the importance page's chart. Data: the page's JSON (script#compare-data or
// script#importance-data, the same object as the page's .json twin) and, per chart,
// /compare/series.json; the importance panel fetches the importance page's twin.
(function () {
  "use strict";
  const rt = window.ragtrack;

  function pageData(id) {
    const el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }

  function percent(x) { return (100 * x).toFixed(1) + "%"; }

  // -- importance: a horizontal bar chart and a table, highest first ---------------

  function drawImportance(el, result) {
    const items = result.importances.slice().reverse(); // Plotly stacks bars bottom-up
    el.style.height = 75 + 30 * items.length + "px";
    const trace = {
      type: "bar", orientation: "h", x: items.map((i) => i.importance), y: items.map((i) => i.param),
      marker: { color: "#0969da" }, width: 0.6, hovertemplate: "%{y}: %{x:.1%}<extra></extra>",
    };
    rt.plot(el, [trace], {
      showlegend: false, margin: { l: 10, r: 20, t: 10, b: 45 },
      xaxis: { tickformat: ".0%", rangemode: "tozero", title: { text: "share of the variance of " + result.metric } },
      yaxis: { automargin: true },
    }, "importance-" + result.metric);
  }

  function importanceCSVRows(result) {
    return [["param", "importance", "same split as"]].concat(result.importances.map((i) =>
      [i.param, i.importance, (result.aliases[i.param] || []).join(" ")]));
  }

  // The compare page's panel: the same content as the importance page, built here.
  function renderImportance(box, status, data) {
    const result = data.result;
    const esc = rt.escapeHTML;
    const where = esc(data.population.description);
    if (!result || !result.importances.length) {
      status.textContent = "Nothing to show.";
      box.innerHTML = `<p class="notice">${esc(data.message || "No importance could be computed.")}</p>` +
        `<p class="muted">Over ${where}.</p>`;
      return;
    }
    const n = result.importances.length;
    status.textContent = `Computed: ${n} param${n === 1 ? "" : "s"} ranked.`;
    const rows = result.importances.map((item, i) => {
      const group = data.links.group_by[item.param];
      return `<tr><td class="num">${i + 1}</td>` +
        `<th scope="row" class="mono"><a href="${esc(group)}" title="Runs grouped by ${esc(item.param)}">${esc(item.param)}</a></th>` +
        `<td class="num">${percent(item.importance)}</td>` +
        `<td class="bar-cell" aria-hidden="true"><div class="bar" style="width: ${percent(item.importance)}"></div></td>` +
        `<td class="mono">${esc((result.aliases[item.param] || []).join(", "))}</td></tr>`;
    }).join("");
    const dropped = result.dropped_params.map((k) =>
      `<li><span class="mono">${esc(k)}</span>: ${esc(result.drop_reasons[k] || "unusable")}</li>`).join("");
    box.innerHTML =
      (result.caveat ? `<p class="notice importance-caveat" role="note"><strong>Few runs.</strong> ${esc(result.caveat)}</p>` : "") +
      `<div class="chart" id="importance-chart" role="img" aria-label="Importance of each param for ${esc(result.metric)}"></div>` +
      `<div class="table-wrap"><table class="data-table importance-table">` +
      `<caption class="visually-hidden">Importance of each param for ${esc(result.metric)}</caption>` +
      `<thead><tr><th scope="col" class="num">Rank</th><th scope="col">Param</th><th scope="col" class="num">Importance</th>` +
      `<th scope="col"><span class="visually-hidden">Bar</span></th><th scope="col">Same split of runs as</th></tr></thead>` +
      `<tbody>${rows}</tbody></table></div>` +
      `<dl class="facts" style="margin-top: 0.6rem">` +
      `<dt>Method</dt><dd>${esc(result.method)}</dd>` +
      `<dt>Runs</dt><dd>${result.n_runs} used, ${result.skipped_runs} skipped (no numeric ${esc(result.metric)}), of ${where}</dd>` +
      `<dt>Params left out</dt><dd>${dropped ? `<details><summary>${result.dropped_params.length}</summary><ul>${dropped}</ul></details>` : "none"}</dd>` +
      `</dl>`;
    drawImportance(box.querySelector("#importance-chart"), result);
  }

  // -- overlaid curves ----------------------------------------------------------------

  function curveTraces(payload, state) {
    const traces = [];
    const xOf = (c) => {
      if (state.x !== "time") return c.steps;
      const t0 = c.times.length ? c.times[0] : 0;
      return c.times.map((t) => (t === null || t0 === null ? null : t - t0));
    };
    for (const run of payload.runs) {
      const c = run.chart;
      if (!c) continue;
      const x = xOf(c);
      const single = c.steps.length <= 1;
      const smoothed = state.smoothing > 0 && c.smoothed && !single;
      const base = { type: "scatter", x: x, name: run.name, legendgroup: run.id,
        hovertemplate: `${rt.escapeHTML(run.name)}<br>%{x}: %{y:.5g}<extra></extra>` };
      traces.push(Object.assign({}, base, {
        y: c.values, mode: single ? "markers" : "lines", showlegend: !smoothed,
        line: { color: run.colour, dash: run.dash, width: smoothed ? 1 : 1.6 },
        marker: { color: run.colour, symbol: run.symbol, size: 8 },
        opacity: smoothed ? 0.3 : 1,
      }));
      if (smoothed) {
        traces.push(Object.assign({}, base, { y: c.smoothed, mode: "lines", line: { color: run.colour, dash: run.dash, width: 2 } }));
      }
    }
    return traces;
  }

  function curveCSVRows(payload) {
    const rows = [["run_id", "run", "step", "time", "value", "smoothed"]];
    for (const run of payload.runs) {
      const c = run.chart;
      if (!c) continue;
      c.steps.forEach((step, i) => rows.push([run.id, run.name, step, c.times[i], c.values[i],
        c.smoothed ? c.smoothed[i] : ""]));
    }
    return rows;
  }

  function initCurves(data) {
    const options = data.charts;
    const state = { smoothing: options.smoothing, x: options.x, log: options.log };
    const loaded = new Map(); // card -> payload

    function seriesURL(key) {
      const url = new URL(options.series_url, window.location.href);
      url.searchParams.set("key", key);
      if (state.smoothing > 0) url.searchParams.set("smoothing", state.smoothing);
      return url.pathname + url.search;
    }

    function draw(card) {
      const payload = loaded.get(card);
      const key = card.dataset.key;
      const status = card.querySelector(".chart-status");
      const withData = payload.runs.filter((r) => r.chart);
      const traces = curveTraces(payload, state);
      const wide = payload.runs.length > options.wide_after;
      rt.plot(card.querySelector(".chart"), traces, {
        xaxis: { title: { text: state.x === "time" ? "seconds since the run's first point" : "step" } },
        yaxis: { type: state.log ? "log" : "linear" },
        legend: wide ? { orientation: "v", x: 1.02, y: 1, font: { size: 10 } } : { orientation: "h", y: -0.22 },
        margin: wide ? { l: 55, r: 10, t: 10, b: 40 } : { l: 55, r: 15, t: 10, b: 40 },
      }, rt.safeFileName(key));
      const down = withData.some((r) => r.chart.downsampled);
      const missing = payload.runs.length - withData.length;
      // A run whose series is all NaN/inf draws no line: say so rather than leave it unexplained.
      const blank = withData.filter((r) => r.chart.n_finite === 0).length;
      status.textContent = `${withData.length} of ${payload.runs.length} runs` +
        (missing ? ` (${missing} did not log ${key})` : "") +
        (blank ? `; ${blank === withData.length ? "nothing to draw: every value is" : `${blank} hold only`} NaN or infinite` +
          (blank === withData.length ? "" : " values") : "") +
        (down ? `; downsampled to at most ${payload.max_points} points per run` : "") + ".";
    }

    function load(card) {
      const status = card.querySelector(".chart-status");
      status.textContent = "Loading…";
      return rt.getJSON(seriesURL(card.dataset.key)).then((payload) => {
        loaded.set(card, payload);
        draw(card);
      }).catch((err) => {
        status.textContent = `Could not load ${card.dataset.key}: ${err.message}`;
        rt.toast(err.message, true);
      });
    }

    document.querySelectorAll(".chart-card").forEach((card) => {
      rt.whenVisible(card, () => load(card));
      card.querySelector("button.csv").addEventListener("click", () => {
        const payload = loaded.get(card);
        if (!payload) { rt.toast("This chart has not loaded yet."); return; }
        rt.downloadCSV(rt.safeFileName(card.dataset.key) + ".csv", curveCSVRows(payload));
      });
    });

    const slider = document.getElementById("smoothing");
    const shown = document.getElementById("smoothing-value");
    const reload = rt.debounce(() => {
      rt.setQuery({ smoothing: state.smoothing > 0 ? state.smoothing : null });
      loaded.forEach((_payload, card) => load(card));
    }, 250);
    slider.addEventListener("input", () => {
      state.smoothing = Number(slider.value);
      shown.textContent = slider.value;
      reload();
    });
    document.getElementById("log-y").addEventListener("change", (e) => {
      state.log = e.target.checked;
      rt.setQuery({ log: state.log ? "1" : null });
      loaded.forEach((_payload, card) => draw(card));
    });
    document.getElementById("x-axis").addEventListener("change", (e) => {
      state.x = e.target.value;
      rt.setQuery({ x: state.x === "step" ? null : state.x });
      loaded.forEach((_payload, card) => draw(card));
    });
  }

  // -- the compare page -----------------------------------------------------------------

  function initCompare(data) {
    const runs = data.runs;
    const colourOf = new Map(runs.map((r) => [r.id, r.colour]));
    const symbolOf = new Map(runs.map((r) => [r.id, r.symbol]));
    const urlOf = new Map(runs.map((r) => [r.id, r.url]));

    // Objective and scatter param: a new page (server-computed). The form's hidden
    // fields hold the state the page was served with; the URL also has what the chart
    // controls changed since, so build the next URL from it.
    document.querySelectorAll("form.query-form").forEach((form) => {
      form.addEventListener("submit", (event) => {
        event.preventDefault();
        const url = new URL(window.location.href);
        form.querySelectorAll("select").forEach((select) => url.searchParams.set(select.name, select.value));
        url.hash = form.closest("section").id;
        window.location.assign(url.toString());
      });
    });

    document.getElementById("params-csv").addEventListener("click", () => {
      // One column per run; names are not unique, so the first row holds the ids.
      const rows = [["run_id"].concat(runs.map((r) => r.id)), ["param"].concat(runs.map((r) => r.name))];
      for (const row of data.params.differing) rows.push([row.key].concat(row.texts.map((t) => (t === null ? "" : t))));
      for (const row of data.params.identical) rows.push([row.key].concat(row.texts));
      rt.downloadCSV("params.csv", rows);
    });
    document.getElementById("summary-csv").addEventListener("click", () => {
      const rows = [["run_id"].concat(runs.map((r) => r.id)), ["metric"].concat(runs.map((r) => r.name))];
      for (const row of data.summary) rows.push([row.key].concat(row.values));
      rt.downloadCSV("summary-metrics.csv", rows);
    });

    initCurves(data);

    const pc = data.parallel_coordinates;
    const pcEl = document.getElementById("parcoords-chart");
    if (pc && pcEl && pc.run_ids.length) {
      // Tick texts of the first axis sit left of it, its label centred above it: room for both.
      const first = pc.dimensions[0];
      const longest = Math.max(String(first.label).length / 2,
        ...(first.ticktext || []).map((t) => String(t).length), 6);
      const left = Math.min(220, 20 + 6.5 * longest);
      rt.whenVisible(pcEl, () => rt.plot(pcEl, [{ type: "parcoords", dimensions: pc.dimensions, line: pc.line,
        labelangle: pc.dimensions.length > 5 ? -15 : 0 }],
      { margin: { l: left, r: 90, t: 70, b: 30 } }, "parallel-coordinates"));
    }

    const sc = data.scatter;
    const scEl = document.getElementById("scatter-chart");
    if (sc && scEl && sc.ids.length) {
      rt.whenVisible(scEl, () => {
        const esc = rt.escapeHTML;
        const text = sc.names.map((name, i) => `${esc(name)}<br>${esc(sc.param)}: ${esc(rt.formatNumber(sc.x[i]))}` +
          `<br>${esc(sc.metric)}: ${esc(rt.formatNumber(sc.y[i]))}`);
        const xaxis = { title: { text: sc.param } };
        if (sc.categorical) Object.assign(xaxis, { type: "category", categoryorder: "array", categoryarray: sc.categories });
        rt.plot(scEl, [{ type: "scatter", mode: "markers", x: sc.x, y: sc.y, text: text, hoverinfo: "text",
          customdata: sc.ids, marker: { color: sc.ids.map((id) => colourOf.get(id)), symbol: sc.ids.map((id) => symbolOf.get(id)), size: 12, line: { width: 1, color: "#fff" } } }],
        { xaxis: xaxis, yaxis: { title: { text: sc.metric } }, showlegend: false }, "scatter");
        scEl.on("plotly_click", (event) => {
          const id = event.points && event.points[0] && event.points[0].customdata;
          if (id && urlOf.has(id)) window.location.assign(urlOf.get(id));
        });
      });
    }

    const box = document.getElementById("importance-result");
    const status = document.getElementById("importance-status");
    if (box && status) {
      rt.whenVisible(box, () => {
        status.textContent = "Computing importance…";
        rt.getJSON(data.importance.url).then((imp) => renderImportance(box, status, imp)).catch((err) => {
          status.textContent = `Could not compute importance: ${err.message}`;
        });
      });
    }
  }

  // -- the importance page --------------------------------------------------------------

  function initImportancePage(data) {
    const result = data.result;
    const chart = document.getElementById("importance-chart");
    if (chart && result && result.importances.length) drawImportance(chart, result);
    const csv = document.getElementById("importance-csv");
    if (csv) csv.addEventListener("click", () => rt.downloadCSV(`importance-${result.metric}.csv`, importanceCSVRows(result)));
  }

  const compare = pageData("compare-data");
  if (compare) initCompare(compare);
  const importance = pageData("importance-data");
  if (importance) initImportancePage(importance);
})();
