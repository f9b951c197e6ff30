// The runs table: selection and compare, CSV export, keyboard moves between rows,
// the column picker and tidy URLs for the page's GET forms. The page works without
// it (every form is a plain GET form); this only makes it quicker to use.
(function () {
  "use strict";
  const rt = window.ragtrack;
  const table = document.getElementById("runs-table");
  if (!table) return;
  const MIN_COMPARE = 2, MAX_COMPARE = 50;

  // -- selection and compare ------------------------------------------------------
  const boxes = () => Array.from(table.querySelectorAll("tbody input.run-select"));
  const selectAll = document.getElementById("select-all");
  const compareButton = document.getElementById("compare-button");
  const compareHint = document.getElementById("compare-hint");

  function selectedIds() { return boxes().filter((b) => b.checked).map((b) => b.value); }

  function updateSelection() {
    const all = boxes(), ids = selectedIds();
    if (selectAll) {
      selectAll.checked = all.length > 0 && ids.length === all.length;
      selectAll.indeterminate = ids.length > 0 && ids.length < all.length;
    }
    const ok = ids.length >= MIN_COMPARE && ids.length <= MAX_COMPARE;
    compareButton.disabled = !ok;
    compareButton.classList.toggle("primary", ok);
    compareButton.textContent = `Compare (${ids.length})`;
    compareHint.textContent = ok ? `${ids.length} runs selected.`
      : ids.length > MAX_COMPARE ? `Select at most ${MAX_COMPARE} runs to compare (${ids.length} selected).`
        : `Select ${MIN_COMPARE} to ${MAX_COMPARE} runs to compare.`;
    for (const b of all) b.closest("tr").classList.toggle("selected", b.checked);
  }

  table.addEventListener("change", (e) => {
    if (e.target === selectAll) for (const b of boxes()) b.checked = selectAll.checked;
    updateSelection();
  });
  compareButton.addEventListener("click", () => {
    const ids = selectedIds();
    if (ids.length < MIN_COMPARE || ids.length > MAX_COMPARE) return;
    window.location.href = `${compareButton.dataset.url}?runs=${ids.map(encodeURIComponent).join(",")}`;
  });
  // Back/forward restores checkbox states from the cache: show them.
  window.addEventListener("pageshow", updateSelection);
  updateSelection();

  // -- CSV export of what the page shows ------------------------------------------
  // Run names are not unique: the runs' CSV starts with their ids.
  function runRows(source) {
    const rows = rt.tableRows(source);
    const trs = Array.from(source.querySelectorAll("tr"));
    return rows.map((row, i) => [i === 0 ? "run_id" : trs[i].dataset.runId || ""].concat(row));
  }
  function csvButton(buttonId, tableId, rowsOf) {
    const button = document.getElementById(buttonId), source = document.getElementById(tableId);
    if (!button || !source) return;
    button.addEventListener("click", () => {
      rt.downloadCSV(button.dataset.filename || "runs.csv", rowsOf(source));
      rt.toast("CSV downloaded.");
    });
  }
  csvButton("csv-button", "runs-table", runRows);
  csvButton("groups-csv-button", "groups-table", rt.tableRows);

  // -- keyboard: arrows move between rows, Space selects, Enter opens (a link) -------
  const rowLinks = () => Array.from(table.querySelectorAll("tbody a.run-link"));
  table.addEventListener("keydown", (e) => {
    const row = e.target.closest && e.target.closest("tbody tr");
    if (!row) return;
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      const links = rowLinks();
      const i = links.indexOf(row.querySelector("a.run-link"));
      const next = links[e.key === "ArrowDown" ? i + 1 : i - 1];
      if (next) { next.focus(); e.preventDefault(); }
    } else if (e.key === " " && e.target.classList.contains("run-link")) {
      const box = row.querySelector("input.run-select");
      box.checked = !box.checked;
      updateSelection();
      e.preventDefault();
    }
  });

  // -- column picker: search, and keep the order of the columns already shown ------
  const picker = document.querySelector("#column-picker form");
  if (picker) {
    const search = document.getElementById("column-search");
    if (search) {
      search.addEventListener("input", rt.debounce(() => {
        const needle = search.value.trim().toLowerCase();
        for (const label of picker.querySelectorAll("fieldset label")) {
          label.hidden = needle !== "" && !label.textContent.toLowerCase().includes(needle);
        }
      }, 80));
      // Enter in the search box must not submit (and reset) the picker.
      search.addEventListener("keydown", (e) => { if (e.key === "Enter") e.preventDefault(); });
    }
    // A pop-over: Escape or a click elsewhere closes it.
    const details = picker.closest("details");
    details.addEventListener("keydown", (e) => {
      if (e.key === "Escape" && details.open) { details.open = false; details.querySelector("summary").focus(); }
    });
    document.addEventListener("click", (e) => { if (details.open && !details.contains(e.target)) details.open = false; });
    picker.addEventListener("submit", (e) => {
      e.preventDefault();
      const current = picker.dataset.current ? picker.dataset.current.split("\n") : [];
      const checked = Array.from(picker.querySelectorAll("input[name=columns]:checked"), (b) => b.value);
      const kept = current.filter((c) => checked.includes(c));
      const columns = kept.concat(checked.filter((c) => !kept.includes(c)));
      navigate(picker, { columns: columns.join(",") });
    });
  }

  // -- GET forms: drop empty parameters so shared URLs stay short --------------------
  function navigate(form, extra) {
    const params = new URLSearchParams();
    for (const [k, v] of new FormData(form)) {
      if (k === "columns" && extra && "columns" in extra) continue;
      if (v !== "") params.append(k, v);
    }
    for (const [k, v] of Object.entries(extra || {})) if (v !== "") params.set(k, v);
    // ',', '@', '/' and ':' are fine in a query string: keep keys readable in the URL.
    const query = params.toString().replace(/%2C/gi, ",").replace(/%40/g, "@")
      .replace(/%2F/gi, "/").replace(/%3A/gi, ":");
    window.location.href = form.getAttribute("action") + (query ? `?${query}` : "");
  }
  for (const form of document.querySelectorAll("form.runs-query, #per-page-form")) {
    form.addEventListener("submit", (e) => { e.preventDefault(); navigate(form); });
  }
  const perPage = document.getElementById("per_page");
  if (perPage) perPage.addEventListener("change", () => navigate(perPage.form));
  for (const el of document.querySelectorAll(".js-hide")) el.hidden = true;
})();
