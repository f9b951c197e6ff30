"""The runs table page (/projects/{p}/runs) and its JSON twin, over the demo store:
what a user reads in the table, and what the URL parameters do to it."""

from __future__ import annotations

import math
import statistics
import warnings
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import pytest

from ragtrack.entities import RunKeys, RunStatus
from ragtrack.server import create_app
from ragtrack.server.ui.views._runs_query import field_ref, parse_columns
from ragtrack.server.ui.views.runs_table import default_columns
from ragtrack.storage import Store, open_store

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message=".*httpx2.*")
    from fastapi.testclient import TestClient

RUNS = "/projects/rag-demo/runs"


class Cell:
    def __init__(self, tag: str, attrs: dict[str, str]) -> None:
        self.tag, self.attrs, self.text = tag, attrs, ""
        self.links: list[str] = []


class TableParser(HTMLParser):
    """The header and body cells of the table with ``id``: text, attributes, links."""

    def __init__(self, table_id: str) -> None:
        super().__init__()
        self.table_id, self.depth = table_id, 0
        self.rows: list[list[Cell]] = []
        self.cell: Cell | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "table" and (self.depth or a.get("id") == self.table_id):
            self.depth += 1
        elif self.depth and tag == "tr":
            self.rows.append([])
        elif self.depth and tag in ("th", "td"):
            self.cell = Cell(tag, a)
            self.rows[-1].append(self.cell)
        elif self.cell is not None and tag == "a":
            self.cell.links.append(a["href"])
        elif self.cell is not None and tag == "input":
            self.cell.attrs["input"] = a.get("value", "")

    @staticmethod
    def hrefs(html: str) -> list[str]:
        """Every href, src, action and data-url of the page."""
        found: list[str] = []

        class Links(HTMLParser):
            def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
                for k, v in attrs:
                    if k in ("href", "src", "action", "data-url") and v:
                        found.append(v)

        Links().feed(html)
        return found

    def handle_endtag(self, tag: str) -> None:
        if tag == "table" and self.depth:
            self.depth -= 1
        elif tag in ("th", "td"):
            self.cell = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.text = (self.cell.text + data).strip()


def table(html: str, table_id: str = "runs-table") -> tuple[list[Cell], list[list[Cell]]]:
    """(header cells, body rows) of a table of the page."""
    parser = TableParser(table_id)
    parser.feed(html)
    assert parser.rows, f"no table #{table_id} in the page"
    return parser.rows[0], parser.rows[1:]


def column(html: str, label: str) -> list[str]:
    """The texts of one column of the runs table, by its header text."""
    head, body = table(html)
    index = [h.text for h in head].index(label)
    return [row[index].text for row in body]


def get_json(client: TestClient, url: str, status: int = 200) -> dict[str, Any]:
    response = client.get(url.replace("/runs", "/runs.json", 1))
    assert response.status_code == status, response.text
    data: dict[str, Any] = response.json()
    return data


def test_default_columns_are_eval_metrics_then_params_that_vary(ui_client: TestClient) -> None:
    response = ui_client.get(RUNS)
    assert response.status_code == 200
    head, body = table(response.text)
    labels = [h.text for h in head]
    assert labels[:5] == ["", "Name", "Status", "Created", "Duration"]
    # Summary metrics before curves (train/loss), and only params that differ.
    assert labels[5:] == [
        "faithfulness", "latency_ms", "mrr", "ndcg@10", "recall@10", "recall@5",
        "chunker.overlap", "chunker.size", "reranker.candidates", "reranker.model",
        "retriever.embedding_model", "retriever.top_k",
    ]  # fmt: skip
    assert len(body) == 15
    assert "1–15 of 15 runs" in response.text


def test_experiment_defined_metrics_come_first(ui_client: TestClient) -> None:
    data = get_json(ui_client, f"{RUNS}?experiment=chunking")
    assert data["columns"][:4] == [
        "metrics.recall@10", "metrics.ndcg@10", "metrics.faithfulness", "metrics.latency_ms"
    ]  # fmt: skip
    assert "params.chunker.size" in data["columns"]
    # Constant within the sweep: not worth a column.
    assert "params.dataset" not in data["columns"]


def test_sort_by_metric_descending_puts_the_best_run_first(
    ui_client: TestClient, ui_store: Store
) -> None:
    html = ui_client.get(f"{RUNS}?sort=-metrics.recall@10").text
    head, _ = table(html)
    recall_header = next(h for h in head if h.text == "recall@10")
    assert recall_header.attrs["aria-sort"] == "descending"
    assert [h for h in head if "aria-sort" in h.attrs] == [recall_header]
    recalls = [float(v) for v in column(html, "recall@10") if v]
    assert recalls == sorted(recalls, reverse=True)
    assert column(html, "recall@10")[-1] == ""  # the failed run has none: last
    assert column(html, "chunker.size")[0] == "512"
    best = max(
        (r for r in ui_store.search_runs("rag-demo") if "recall@10" in r.summary),
        key=lambda r: r.summary["recall@10"],
    )
    assert column(html, "Name")[0] == best.name
    # Clicking the sorted header again sorts ascending, columns kept.
    query = parse_qs(urlsplit(recall_header.links[0]).query)
    assert query["sort"] == ["metrics.recall@10"]
    assert "metrics.recall@10" in query["columns"][0].split(",")


def test_first_click_on_a_header_sorts_the_useful_way(ui_client: TestClient) -> None:
    head, _ = table(ui_client.get(f"{RUNS}?experiment=chunking").text)
    sorts = {h.text: parse_qs(urlsplit(h.links[0]).query)["sort"][0] for h in head if h.links}
    assert sorts["Name"] == "name"
    assert sorts["Created"] == "created"  # sorted newest first already: toggles
    assert sorts["Duration"] == "-duration"
    assert sorts["recall@10"] == "-metrics.recall@10"
    assert sorts["latency_ms"] == "metrics.latency_ms"  # the experiment's goal is min
    columns = "metrics.train/loss,metrics.mrr,metrics.train/lr"
    head, _ = table(ui_client.get(f"{RUNS}?experiment=chunking&columns={columns}").text)
    by_name = {h.text: parse_qs(urlsplit(h.links[0]).query)["sort"][0] for h in head if h.links}
    # No goal defined: the name says which way is best (descending when it says nothing).
    assert by_name["train/loss"] == "metrics.train/loss"
    assert by_name["mrr"] == "-metrics.mrr"
    assert by_name["train/lr"] == "-metrics.train/lr"
    assert sorts["chunker.size"] == "params.chunker.size"


def test_filter_narrows_the_table_and_the_count(ui_client: TestClient, ui_store: Store) -> None:
    expected = ui_store.count_runs("rag-demo", "params.chunker.size = 512")
    assert 0 < expected < 15
    url = f"{RUNS}?filter={quote('params.chunker.size = 512')}&columns=params.chunker.size"
    html = ui_client.get(url).text
    assert set(column(html, "chunker.size")) == {"512"}
    assert len(column(html, "Name")) == expected
    assert f"1–{expected} of {expected} runs" in html
    assert 'value="params.chunker.size = 512"' in html  # the box keeps the text
    data = get_json(ui_client, url)
    assert data["total"] == expected and len(data["runs"]) == expected


def test_bad_filter_shows_the_message_under_the_box(ui_client: TestClient) -> None:
    # The page renders (200: no failed load in the browser console); its twin is the 400.
    url = f"{RUNS}?filter={quote('metrics.recall@10 > bad')}"
    response = ui_client.get(url)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert 'role="alert"' in html and "The filter cannot be used" in html
    assert "quote text values at position 20" in html
    assert 'aria-invalid="true"' in html
    assert table(html)[1] == []  # no rows
    data = get_json(ui_client, url, status=400)
    assert data["error"]["code"] == "INVALID_FILTER"
    assert data["error"]["field"] == "filter"
    assert data["error"]["position"] == 20
    assert data["runs"] == [] and data["keys"]["metrics"]


def test_bad_sort_shows_the_message_too(ui_client: TestClient) -> None:
    response = ui_client.get(f"{RUNS}?sort=tags")
    assert response.status_code == 200
    assert "The sort cannot be used" in response.text
    assert "cannot order by tags" in response.text
    data = get_json(ui_client, f"{RUNS}?sort=tags", status=400)
    assert data["error"]["field"] == "sort"


def test_experiment_narrows_with_the_filter(ui_client: TestClient) -> None:
    data = get_json(ui_client, f"{RUNS}?experiment=reranker")
    assert data["total"] == 3
    assert {r["experiment"] for r in data["runs"]} == {"reranker"}
    failed = quote('status = "failed"')
    data = get_json(ui_client, f"{RUNS}?experiment=reranker&filter={failed}")
    assert [r["status"] for r in data["runs"]] == ["failed"]
    # An error's position points into what the user typed, not the combined filter.
    data = get_json(ui_client, f"{RUNS}?experiment=reranker&filter=name%20%3D", status=400)
    assert data["error"]["position"] == 6


def test_unknown_project_or_experiment_is_a_404_page(ui_client: TestClient) -> None:
    response = ui_client.get("/projects/nope/runs")
    assert response.status_code == 404
    assert "no project named &#39;nope&#39;" in response.text
    assert ui_client.get("/projects/nope/runs.json").json()["error"]["code"] == (
        "PROJECT_NOT_FOUND"
    )
    response = ui_client.get(f"{RUNS}?experiment=nope")
    assert response.status_code == 404
    assert "no experiment named" in response.text


def test_pagination_splits_15_runs_into_3_pages_of_5(ui_client: TestClient) -> None:
    seen: list[str] = []
    url: str | None = f"{RUNS}?per_page=5"
    pages = 0
    while url is not None:
        data = get_json(ui_client, url)
        pages += 1
        assert len(data["runs"]) == 5 and data["total"] == 15
        seen += [r["id"] for r in data["runs"]]
        url = data["links"]["next"]
    assert pages == 3 and len(set(seen)) == 15
    html = ui_client.get(f"{RUNS}?per_page=5&page=3").text
    assert "11–15 of 15 runs" in html and "Page 3 of 3" in html
    assert 'rel="next"' not in html and 'rel="prev"' in html
    html = ui_client.get(f"{RUNS}?per_page=5&page=4").text
    assert "Page 4 is past the last page (3)" in html
    assert ui_client.get(f"{RUNS}?per_page=501").status_code == 400
    assert ui_client.get(f"{RUNS}?page=0").status_code == 400


def test_columns_parameter_is_respected(ui_client: TestClient) -> None:
    url = f"{RUNS}?columns={quote('metrics.train/loss,params.chunker.size,metrics.recall@10')}"
    head, body = table(ui_client.get(url).text)
    assert [h.text for h in head][5:] == ["train/loss", "chunker.size", "recall@10"]
    assert all(len(row) == 8 for row in body)
    assert get_json(ui_client, url)["columns"] == [
        "metrics.train/loss", "params.chunker.size", "metrics.recall@10"
    ]  # fmt: skip
    response = ui_client.get(f"{RUNS}?columns=recall")
    assert response.status_code == 400
    assert "is not params.&lt;key&gt;, metrics.&lt;key&gt; or tags" in response.text


def test_numbers_carry_their_full_precision_for_csv(ui_client: TestClient, ui_store: Store) -> None:
    run = ui_store.search_runs("rag-demo", "metrics.recall@10 is not null", limit=1)[0]
    html = ui_client.get(f"{RUNS}?columns=metrics.recall@10&filter=id%20%3D%20%22{run.id}%22").text
    cell = table(html)[1][0][-1]
    assert cell.attrs["data-value"] == repr(run.summary["recall@10"])
    assert cell.text == f"{run.summary['recall@10']:.4g}"


def test_keys_with_slash_and_at_sort_and_link(ui_client: TestClient) -> None:
    cols = "metrics.eval/loss,metrics.recall@10"
    url = f"{RUNS}?sort={quote('metrics.eval/loss')}&columns={quote(cols)}"
    html = ui_client.get(url).text
    losses = [float(v) for v in column(html, "eval/loss") if v]
    assert losses == sorted(losses)
    head, _ = table(html)
    header = next(h for h in head if h.text == "eval/loss")
    assert header.attrs["aria-sort"] == "ascending"
    assert parse_qs(urlsplit(header.links[0]).query)["sort"] == ["-metrics.eval/loss"]


def test_group_by_shows_mean_min_max_per_group(ui_client: TestClient, ui_store: Store) -> None:
    url = f"{RUNS}?group_by=chunker.size&columns=metrics.recall@10"
    html = ui_client.get(url).text
    head, body = table(html, "groups-table")
    assert [h.text for h in head] == ["chunker.size", "Runs", "recall@10"]
    runs = ui_store.search_runs("rag-demo")
    assert [row[0].text for row in body] == ["256", "512", "1024"]
    for row in body:
        size = int(row[0].text)
        group = [r for r in runs if r.config["chunker"]["size"] == size]
        recalls = [r.summary["recall@10"] for r in group if "recall@10" in r.summary]
        assert row[1].text == str(len(group))
        assert math.isclose(float(row[2].attrs["data-value"]), statistics.fmean(recalls))
        assert row[2].text.endswith(f"({min(recalls):.4g}–{max(recalls):.4g})")
        # The group's link shows its runs.
        link = row[0].links[0]
        assert parse_qs(urlsplit(link).query)["filter"] == [f"params.chunker.size = {size}"]
        assert get_json(ui_client, link)["total"] == len(group)
    groups = get_json(ui_client, url)["groups"]
    assert [g["value"] for g in groups] == [256, 512, 1024]
    assert sum(g["run_count"] for g in groups) == 15


def test_group_by_keeps_the_filter_and_experiment(ui_client: TestClient) -> None:
    data = get_json(ui_client, f"{RUNS}?experiment=chunking&group_by=retriever.top_k")
    assert sum(g["run_count"] for g in data["groups"]) == 12
    data = get_json(ui_client, f"{RUNS}?group_by=reranker.model&filter=status%20%3D%20%22failed%22")
    assert [(g["value"], g["run_count"]) for g in data["groups"]] == [("bge-reranker-large", 1)]
    assert "experiment" not in get_json(ui_client, data["groups"][0]["url"])["filter"]


def test_compare_links_and_selection_controls(ui_client: TestClient) -> None:
    html = ui_client.get(f"{RUNS}?experiment=reranker").text
    assert 'id="compare-button" data-url="/compare" disabled' in html
    assert 'aria-label="Select all runs on this page"' in html
    data = get_json(ui_client, f"{RUNS}?experiment=reranker")
    ids = parse_qs(urlsplit(data["links"]["compare"]).query)["runs"][0].split(",")
    assert ids == [r["id"] for r in data["runs"]]


def test_field_ref_quotes_keys_the_filter_language_needs_quoted() -> None:
    assert field_ref("metrics", "eval/ndcg@10") == "metrics.eval/ndcg@10"
    assert field_ref("params", "retriever config.top_k") == "params.`retriever config.top_k`"
    assert field_ref("metrics", "loss.min") == "metrics.`loss.min`"
    assert field_ref("params", "scheduler.min") == "params.scheduler.min"
    assert field_ref("params", "a`b c") == "params.`a``b c`"


def test_parse_columns_keeps_commas_inside_keys() -> None:
    columns = parse_columns(["metrics.recall@10,params.weights (a, b)", "metrics.loss.min"])
    assert [c.id for c in columns] == [
        "metrics.recall@10", "params.weights (a, b)", "metrics.loss.min"
    ]  # fmt: skip


@pytest.fixture
def odd_client(tmp_path: Path) -> TestClient:
    """A store with a run whose name is markup and whose keys need quoting."""
    store = open_store(tmp_path / "odd")
    for name, value in [("<script>alert(1)</script>", 1.0), ("plain", 2.0)]:
        run = store.create_run(
            project="odd", name=name, config={"my key (v2)": value, "opt": {"lr": value}}
        )
        store.finish_run(run.id, status=RunStatus.COMPLETED, summary={"loss.min": value})
    store.create_project("empty")
    return TestClient(create_app(store))


def test_run_names_are_escaped(odd_client: TestClient) -> None:
    html = odd_client.get("/projects/odd/runs").text
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert 'aria-label="Select &lt;script&gt;alert(1)&lt;/script&gt;"' in html


def test_keys_needing_quotes_sort_and_group(odd_client: TestClient) -> None:
    html = odd_client.get("/projects/odd/runs").text
    head, _ = table(html)
    sorts = {h.text: parse_qs(urlsplit(h.links[0]).query)["sort"][0] for h in head if h.links}
    assert sorts["my key (v2)"] == "params.`my key (v2)`"
    assert sorts["loss.min"] == "metrics.`loss.min`"  # a loss: lowest first
    html = odd_client.get("/projects/odd/runs?sort=-metrics.`loss.min`").text
    assert column(html, "Name") == ["plain", "<script>alert(1)</script>"]
    data = odd_client.get("/projects/odd/runs.json?group_by=my key (v2)").json()
    assert [g["value"] for g in data["groups"]] == [1.0, 2.0]
    filtered = odd_client.get(data["groups"][0]["url"].replace("/runs", "/runs.json")).json()
    assert filtered["filter"] == "params.`my key (v2)` = 1"
    assert filtered["total"] == 1


def test_a_project_without_runs_says_so(odd_client: TestClient) -> None:
    response = odd_client.get("/projects/empty/runs")
    assert response.status_code == 200
    assert "No runs in this project yet." in response.text
    assert "Page 1 of 1" in response.text
    data = odd_client.get("/projects/empty/runs.json").json()
    assert (data["total"], data["runs"], data["columns"]) == (0, [], [])


def test_every_link_keeps_the_url_prefix(ui_store: Store) -> None:
    with TestClient(create_app(ui_store), root_path="/rt") as client:
        html = client.get(f"{RUNS}?per_page=5&group_by=chunker.size").text
    # base.html's JSON link is built from request.url, which under uvicorn holds
    # the prefix but not under the test client's root_path: left out here.
    hrefs = [h for h in TableParser.hrefs(html) if h.startswith("/") and ".json" not in h]
    assert hrefs and all(h.startswith("/rt/") for h in hrefs), hrefs


def test_a_misspelled_key_is_a_warning_with_the_nearest_keys(ui_client: TestClient) -> None:
    url = f"{RUNS}?experiment=chunking&filter={quote('metrics.recal@10 > 0.5')}"
    data = get_json(ui_client, url)  # a warning, not an error: 200
    assert data["error"] is None and data["runs"] == []
    (warning,) = data["warnings"]
    assert warning["key"] == "metrics.recal@10"
    assert warning["suggestions"][0] == "metrics.recall@10"
    html = ui_client.get(url).text
    assert 'id="filter-warnings"' in html
    assert "No run of experiment &#39;chunking&#39; has <code>metrics.recal@10</code>" in html
    assert (
        get_json(ui_client, f"{RUNS}?filter={quote('metrics.recall@10 > 0.5')}")["warnings"] == []
    )


def test_group_by_takes_the_params_form_of_sort_and_columns_too(ui_client: TestClient) -> None:
    for group_by in ("params.chunker.size", quote("params.`chunker.size`")):
        data = get_json(ui_client, f"{RUNS}?group_by={group_by}&columns=metrics.recall@10")
        assert data["group_by"] == "chunker.size"
        assert [(g["value"], g["run_count"]) for g in data["groups"]] == [
            (256, 4),
            (512, 7),
            (1024, 4),
        ]
    html = ui_client.get(f"{RUNS}?group_by=params.chunker.size").text
    assert '<option value="chunker.size" selected>' in html
    assert "Grouped by chunker.size" in html
    data = get_json(ui_client, f"{RUNS}?group_by=metrics.recall@10", status=400)
    assert data["error"]["field"] == "group_by"
    assert "is a metric; group by a param" in data["error"]["message"]


def test_default_params_are_those_a_sweep_varies_not_those_some_runs_lack() -> None:
    # Six params only one run has (missing is not a value) sort before 'lr' by name;
    # the column a user wants is lr, which the sweep varies.
    rare = {f"a{i}": "x" for i in range(6)}
    flat = [{"lr": 0.1, "seed": 0, **rare}, {"lr": 0.01, "seed": 0}, {"lr": 0.001, "seed": 0}]
    keys = RunKeys(params=(*sorted(rare), "lr", "seed"), metrics=())
    columns = [c.id for c in default_columns(None, keys, [], flat)]
    assert columns[0] == "params.lr"
    assert columns[1:] == [f"params.a{i}" for i in range(5)]  # then the partial ones
    assert "params.seed" not in columns  # the same everywhere


def test_a_tags_column_can_be_chosen_and_is_not_sortable(ui_client: TestClient) -> None:
    url = f"{RUNS}?experiment=reranker&columns=tags,metrics.recall@10&sort=name"
    html = ui_client.get(url).text
    head, body = table(html)
    labels = [h.text for h in head]
    assert labels[5:] == ["Tags", "recall@10"]
    assert head[5].links == []  # the filter language cannot order by tags
    assert {row[5].text for row in body} == {"candidate"}
    assert '<input type="checkbox" name="columns" value="tags" checked> Tags' in html
    assert get_json(ui_client, url)["columns"] == ["tags", "metrics.recall@10"]
    unchosen = ui_client.get(RUNS).text
    assert '<input type="checkbox" name="columns" value="tags"> Tags' in unchosen


def test_each_number_column_shows_one_precision(ui_client: TestClient) -> None:
    html = ui_client.get(
        f"{RUNS}?columns=metrics.recall@10,metrics.latency_ms,params.chunker.size"
    ).text
    for label in ("recall@10", "latency_ms", "chunker.size"):
        texts = [t for t in column(html, label) if t]
        decimals = {len(t.partition(".")[2]) for t in texts}
        assert len(decimals) == 1, (label, texts)
    assert all("." not in t for t in column(html, "chunker.size"))
    assert all(len(t.partition(".")[2]) == 4 for t in column(html, "recall@10") if t)


def test_a_did_you_mean_link_rewrites_only_the_unknown_field(tmp_path: Path) -> None:
    store = open_store(dir=tmp_path)
    try:
        run = store.create_run(project="p")
        store.set_summary(run.id, {"loss": 0.5})
        # 'metrics.los' is unknown (did you mean metrics.loss?); 'metrics.loss'
        # contains its text, which a plain text replace rewrote to 'metrics.losss'.
        typed = "metrics.loss < 1 or metrics.los.min < 2 or metrics.`los` > 3"
        with TestClient(create_app(store)) as client:
            html = client.get(f"/projects/p/runs?filter={quote(typed)}").text
        filters = {
            parse_qs(urlsplit(h).query)["filter"][0]
            for h in TableParser.hrefs(html)
            if "filter=" in h
        }
        fixes = filters - {typed}  # every other link keeps the filter as typed
        assert fixes == {"metrics.loss < 1 or metrics.loss.min < 2 or metrics.loss > 3"}, fixes
    finally:
        store.close()


@pytest.mark.parametrize(
    ("group_by", "problem"),
    [
        ("-params.chunker.size", "has a direction"),
        ("params.chunker.size desc", "has a direction"),
        ("metrics.", "is not a param reference"),
        ("params.`chunker", "is not a param reference"),
        ("metrics.recall@10", "is a metric"),
    ],
)
def test_a_malformed_group_by_is_400_naming_the_problem(
    ui_client: TestClient, group_by: str, problem: str
) -> None:
    data = get_json(ui_client, f"{RUNS}?group_by={quote(group_by)}", status=400)
    assert data["error"]["field"] == "group_by"
    assert problem in data["error"]["message"], data["error"]
    assert data["groups"] is None


@pytest.mark.parametrize("group_by", ["params.chunker.sise", "chunker.sise"])
def test_a_group_by_key_no_run_has_warns_with_the_nearest(
    ui_client: TestClient, group_by: str
) -> None:
    data = get_json(ui_client, f"{RUNS}?group_by={quote(group_by)}")
    (warning,) = data["warnings"]
    assert warning["field"] == "group_by" and warning["key"] == "params.chunker.sise"
    assert warning["suggestions"] == ["params.chunker.size"]
    html = ui_client.get(f"{RUNS}?group_by={quote(group_by)}").text
    assert "No run has <code>params.chunker.sise</code>; did you mean" in html
    fixes = [h for h in TableParser.hrefs(html) if "group_by=params.chunker.size" in h]
    assert fixes, "the suggestion links to the table grouped by it"
    assert get_json(ui_client, f"{RUNS}?group_by=chunker.size")["warnings"] == []
