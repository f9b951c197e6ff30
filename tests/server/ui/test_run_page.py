"""The run page ``/runs/{id}``, its JSON twin and its data endpoints
(``series.json``, ``logs.json``): what a user reads on it, over the demo store and
over fresh stores for what the demo does not have (long series, logs, artifacts,
hostile names)."""

from __future__ import annotations

import html
import io
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from ragtrack.entities import MetricSeries, RunRecord, RunStatus
from ragtrack.server import create_app
from ragtrack.server.ui._templates import format_number
from ragtrack.server.ui.views import _run_metadata as md
from ragtrack.server.ui.views.run_page import MAX_LOG_CHARS, group_keys
from ragtrack.storage import Store
from ragtrack.storage.artifacts import LocalArtifactStore
from ragtrack.storage.sql import SqlStore

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message=".*httpx2.*")
    from fastapi.testclient import TestClient

DEMO = "rag-demo"


_BLOCKS = {"dt", "dd", "td", "th", "li", "p", "div", "tr", "h1", "h2", "h3", "pre", "summary"}


class _Text(HTMLParser):
    """The text a browser shows (scripts and styles left out), whitespace collapsed."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        self._skip += tag in ("script", "style")
        if tag in _BLOCKS:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        self._skip -= tag in ("script", "style")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return " ".join("".join(parser.parts).split())


def demo_run(store: Store, name: str | None = None, status: str | None = None) -> RunRecord:
    runs = store.search_runs(DEMO)
    return next(
        r for r in runs if (name is None or r.name == name) and (status in (None, r.status.value))
    )


@dataclass
class Fresh:
    """A client over an empty store with artifacts, and the stores to write to."""

    client: TestClient
    store: SqlStore
    artifacts: LocalArtifactStore

    def get(self, url: str) -> httpx.Response:
        response: httpx.Response = self.client.get(url)
        return response


@pytest.fixture
def fresh(sqlite_store: SqlStore, artifact_store: LocalArtifactStore) -> Iterator[Fresh]:
    with TestClient(create_app(sqlite_store, artifact_store)) as client:
        yield Fresh(client, sqlite_store, artifact_store)


# -- the page ---------------------------------------------------------------------------


def test_overview_shows_status_params_and_summary(ui_client: Any, ui_store: Store) -> None:
    run = demo_run(ui_store, status="completed")
    page = ui_client.get(f"/runs/{run.id}")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    text = visible_text(page.text)
    assert f"{run.name} completed {run.id}" in text
    assert '<span class="status status-completed">completed</span>' in page.text
    size, top_k = run.config["chunker"]["size"], run.config["retriever"]["top_k"]
    assert f"size: {size}" in text and f"top_k: {top_k}" in text
    assert f"model: {run.config['generator']['model']}" in text
    recall = run.metrics["recall@10"]
    assert f"recall@10 {format_number(recall.last)}" in text
    loss = run.metrics["train/loss"]
    row = f"train/loss {format_number(loss.last)} {format_number(loss.min)} "
    assert row + f"{format_number(loss.max)} {loss.count} {loss.last_step}" in text
    # Breadcrumbs: projects / project / the experiment's runs table / the run.
    crumb = f'<a href="/projects/{DEMO}/runs?experiment={run.experiment}">{run.experiment}</a>'
    assert crumb in page.text
    assert f'<li aria-current="page">{run.name}</li>' in page.text
    for tab in ("Overview", "Charts", "System", "Metadata", "Logs", "Artifacts"):
        assert f'aria-controls="panel-{tab.lower()}"' in page.text and tab in text
    assert "Live: updating" not in text  # a finished run is not polled


def test_charts_tab_has_a_lazy_chart_per_curve_and_values_for_single_points(
    ui_client: Any, ui_store: Store
) -> None:
    run = demo_run(ui_store, status="completed")
    page = ui_client.get(f"/runs/{run.id}").text
    # train/loss is a curve: a chart card the script fills from series.json.
    assert '<article class="card metric-card" data-key="train/loss">' in page
    # recall@10 was logged once: a value tile, not an empty chart.
    tile = page.split('data-key="recall@10" data-single="1">', 1)[1].split("</div>\n    </div>")[0]
    assert format_number(run.metrics["recall@10"].last) in tile
    assert '<section class="metric-group" data-group="train"' in page
    assert page.index('data-group="train"') < page.index('data-group="eval"')
    assert page.index('data-group="eval"') < page.index('data-group="other"')


def test_group_keys_puts_train_eval_then_others_and_groups_system_by_device() -> None:
    groups = group_keys(["b/x", "acc", "eval/f1", "train/loss", "a/y"])
    assert [(g.title, g.keys) for g in groups] == [
        ("train", ["train/loss"]),
        ("eval", ["eval/f1"]),
        ("a", ["a/y"]),
        ("b", ["b/x"]),
        ("other", ["acc"]),
    ]
    system = group_keys(
        ["system/cpu_percent", "system/gpu.0.memory_percent", "system/gpu.1.memory_percent"]
    )
    assert [g.title for g in system] == ["cpu", "gpu.0", "gpu.1"]


def test_json_twin_has_the_run_keys_metadata_and_links(ui_client: Any, ui_store: Store) -> None:
    run = demo_run(ui_store, status="completed")
    twin = ui_client.get(f"/runs/{run.id}.json").json()
    assert twin["run"]["id"] == run.id and twin["run"]["status"] == "completed"
    assert twin["metric_keys"] == ui_store.list_metric_keys(run.id)
    assert twin["system_keys"] == []
    assert twin["metadata"] == ui_store.get_metadata(run.id)
    assert twin["links"]["series"] == f"/runs/{run.id}/series.json"
    assert twin["links"]["runs"] == f"/projects/{DEMO}/runs?experiment={run.experiment}"
    # A prefix resolves in the twin too.
    assert ui_client.get(f"/runs/{run.id[:8]}.json").json()["run"]["id"] == run.id


def test_an_id_prefix_redirects_to_the_full_url(ui_client: Any, ui_store: Store) -> None:
    run = demo_run(ui_store)
    response = ui_client.get(f"/runs/{run.id[:6]}?smoothing=0.6", follow_redirects=False)
    assert response.status_code == 307
    assert response.headers["location"] == f"/runs/{run.id}?smoothing=0.6"


def test_failed_run_shows_its_error_prominently(ui_client: Any, ui_store: Store) -> None:
    run = demo_run(ui_store, status="failed")
    page = ui_client.get(f"/runs/{run.id}").text
    alert = page.split('<div class="error-message run-error" role="alert">', 1)[1]
    headline = visible_text(alert.split("<details>", 1)[0])
    assert headline.startswith("Failed: ragtrack.demo.DemoFailure: CUDA out of memory")
    assert "Traceback (most recent call last)" in alert.split("</div>", 1)[0]


@pytest.mark.parametrize("suffix", ["", ".json", "/series.json?key=x", "/logs.json"])
def test_unknown_run_is_a_404(ui_client: Any, suffix: str) -> None:
    response = ui_client.get(f"/runs/feedfacecafe{suffix}")
    assert response.status_code == 404
    if suffix:
        assert response.json()["error"]["code"] == "RUN_NOT_FOUND"
    else:
        assert "text/html" in response.headers["content-type"]
        assert "Not found" in response.text and "feedfacecafe" in response.text


def test_metadata_tab_of_a_demo_run(ui_client: Any, ui_store: Store) -> None:
    run = demo_run(ui_store)
    metadata = ui_store.get_metadata(run.id)
    text = visible_text(ui_client.get(f"/runs/{run.id}").text)
    hardware = metadata["hardware"]
    assert f"CPU cores {hardware['cpu_count_logical']} logical" in text
    assert f"Python {metadata['environment']['python_implementation']}" in text
    if metadata.get("git"):  # the demo records git when run inside a repository
        assert f"Commit {metadata['git']['commit']}" in text
    # The demo does not record packages (too slow); the page says so.
    assert "The installed packages were not recorded" in text


# -- metadata, hostile text, artifacts (fresh stores) -----------------------------------

DIFF = """\
diff --git a/train.py b/train.py
index 1234567..89abcde 100644
--- a/train.py
+++ b/train.py
@@ -1,2 +1,2 @@
 import torch
-lr = 1e-4
+lr = 2e-5
"""


def test_metadata_shows_git_diff_packages_hardware_and_the_command(fresh: Fresh) -> None:
    run = fresh.store.create_run(
        project="p",
        metadata={
            "git": {"commit": "abc123", "branch": "main", "remote": "git@host:r.git"}
            | {"dirty": True, "diff": DIFF, "untracked": ["notes.md"]},
            "environment": {
                "python_version": "3.11.7",
                "python_implementation": "CPython",
                "command_line": "/venv/bin/python train.py --lr 2e-5",
                "cwd": "/home/me/my project",
                "packages": {"numpy": "2.1.0", "torch": "2.4.1"},
            },
            "hardware": {"cpu_count_logical": 8, "memory_total_bytes": 16 * 2**30}
            | {"gpus": [{"index": 0, "name": "A100", "memory_total_bytes": 80 * 2**30}]},
            "dataset": {"name": "fiqa", "rows": 5000},
        },
    )
    page = fresh.get(f"/runs/{run.id}").text
    text = visible_text(page)
    assert "Commit abc123 Branch main Remote git@host:r.git" in text
    assert "Uncommitted changes yes" in text and "1 untracked paths" in text
    assert '<span class="del">-lr = 1e-4</span><span class="add">+lr = 2e-5</span>' in page
    assert '<span class="hunk">@@ -1,2 +1,2 @@</span>' in page
    assert "train.py +1 −1" in text
    assert "numpy 2.1.0 torch 2.4.1" in text
    assert "Memory 16.0 GiB" in text and "GPU 0 A100, 80.0 GiB" in text
    command = page.split('id="reproduce-command">', 1)[1].split("</pre>", 1)[0]
    assert html.unescape(command) == (
        "cd '/home/me/my project' && \\\n  git checkout abc123 && \\\n"
        "  /venv/bin/python train.py --lr 2e-5"
    )
    assert "Other metadata" in text and "rows: 5000" in text
    assert fresh.get(f"/runs/{run.id}.json").json()["reproduce"].startswith("cd ")


def test_reproduce_command_falls_back_to_argv_and_skips_what_is_unknown() -> None:
    env = {"python_executable": "/usr/bin/python3", "command": ["t.py", "--name", "a b"]}
    assert md.reproduce_command({"environment": env}) == "/usr/bin/python3 t.py --name 'a b'"
    assert md.reproduce_command({"environment": {"cwd": "/x"}}) is None
    assert md.reproduce_command({"git": None, "environment": None}) is None


def test_split_diff_keeps_a_line_budget_and_counts_the_rest() -> None:
    diff = DIFF + DIFF.replace("train.py", "eval.py")
    files = md.split_diff(diff, line_budget=10)
    assert [f.path for f in files] == ["train.py", "eval.py"]
    assert (files[0].additions, files[0].deletions, files[0].hidden) == (1, 1, 0)
    assert len(files[1].lines) == 2 and files[1].hidden == 6
    assert files[1].deletions == 1  # counted even when not shown


def test_user_text_is_escaped_everywhere(fresh: Fresh) -> None:
    evil = "<script>alert(1)</script>"
    run = fresh.store.create_run(
        project="p",
        name=f"n{evil}",
        config={"model": {evil: evil}, "list": [evil]},
        tags=[f"t{evil}"],
        notes=f"notes {evil}",
        metadata={"environment": {"cwd": evil, "command_line": evil}},
    )
    fresh.store.set_summary(run.id, {"verdict": evil, "nested": {"k": evil}})
    fresh.store.update_run(run.id, status=RunStatus.FAILED, error=f"Boom {evil}")
    page = fresh.get(f"/runs/{run.id}").text
    assert "<script>alert" not in page
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt;"
    assert f"notes {escaped}</textarea>" in page
    assert f'data-tag="t{escaped}"' in page
    assert f'<span class="key">{escaped}</span>' in page
    assert f"Failed:</strong> Boom {escaped}" in page
    # The data island for the script cannot close its <script> element either.
    island = page.split('<script type="application/json" id="run-data">', 1)[1].split("</script>")[
        0
    ]
    assert "<" not in island


def test_artifacts_are_listed_with_download_links(fresh: Fresh) -> None:
    run = fresh.store.create_run(project="p")
    fresh.artifacts.put(run.id, "model/weights bin", io.BytesIO(b"x" * 2048))
    fresh.artifacts.put(run.id, "report.md", io.BytesIO(b"# hi"))
    page = fresh.get(f"/runs/{run.id}").text
    text = visible_text(page)
    assert "model/weights bin 2.0 KiB" in text and "report.md 4 B" in text
    link = f'href="/api/v1/runs/{run.id}/artifacts/model/weights%20bin"'
    assert link in page
    assert fresh.get(link[6:-1]).content == b"x" * 2048
    assert [a["path"] for a in fresh.get(f"/runs/{run.id}.json").json()["artifacts"]] == [
        "model/weights bin",
        "report.md",
    ]


def test_a_server_without_artifacts_says_so(tmp_path: Path) -> None:
    store = SqlStore(f"sqlite:///{tmp_path / 'r.db'}")
    run = store.create_run(project="p")
    with TestClient(create_app(store, None)) as client:
        text = visible_text(client.get(f"/runs/{run.id}").text)
        assert client.get(f"/runs/{run.id}.json").json()["artifacts"] is None
    store.close()
    assert "This server keeps no artifacts" in text


def test_a_running_run_is_marked_live(fresh: Fresh) -> None:
    run = fresh.store.create_run(project="p", status=RunStatus.RUNNING)
    page = fresh.get(f"/runs/{run.id}").text
    assert "Live: updating every 3 s" in page
    assert '<input type="checkbox" id="log-follow" checked>' in page


# -- series.json ------------------------------------------------------------------------


def _long_run(store: Store, n: int = 100_000) -> str:
    run = store.create_run(project="p")
    steps = np.arange(n, dtype=np.int64)
    values = np.sin(steps / 1000.0) + (steps == n // 2) * 50.0  # one spike
    store.log_metrics(
        run.id, {"train/loss": MetricSeries(steps, values, (1e9 + steps * 0.5).astype(np.float64))}
    )
    return run.id


def test_series_of_a_long_run_is_downsampled_keeping_ends_and_spikes(fresh: Fresh) -> None:
    run_id = _long_run(fresh.store)
    chart = fresh.get(f"/runs/{run_id}/series.json?key=train/loss&max_points=2000").json()
    assert chart["n_points"] == 100_000 and chart["downsampled"] is True
    assert len(chart["steps"]) <= 2000
    assert len(chart["values"]) == len(chart["times"]) == len(chart["steps"])
    assert chart["steps"][0] == 0 and chart["steps"][-1] == 99_999
    assert chart["times"][-1] == 1e9 + 99_999 * 0.5
    assert 50_000 in chart["steps"] and max(chart["values"]) > 45
    assert chart["smoothed"] is None


def test_series_smoothing_returns_smoothed_values(fresh: Fresh) -> None:
    run = fresh.store.create_run(project="p")
    fresh.store.log_metrics(run.id, {"m": MetricSeries.from_lists([0, 1, 2], [1, 3, 5], [0, 1, 2])})
    chart = fresh.get(f"/runs/{run.id}/series.json?key=m&smoothing=0.5").json()
    assert chart["values"] == [1, 3, 5] and chart["downsampled"] is False
    # TensorBoard's debiased EMA: 1, (0.5*1 + 1.5)/0.75, ...
    assert chart["smoothed"] == pytest.approx([1.0, 7 / 3, 27 / 7])


def test_series_of_an_unknown_key_is_empty(ui_client: Any, ui_store: Store) -> None:
    run = demo_run(ui_store)
    chart = ui_client.get(f"/runs/{run.id[:8]}/series.json?key=no/such/key").json()
    assert chart["n_points"] == 0 and chart["steps"] == [] and chart["key"] == "no/such/key"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("key=m&max_points=1", "max_points"),
        ("key=m&max_points=many", "max_points"),
        ("key=m&smoothing=1", "smoothing"),
        ("key=m&smoothing=-0.1", "smoothing"),
        ("key=m&smoothing=nan", "smoothing"),
        ("max_points=10", "key"),
    ],
)
def test_bad_series_parameters_are_400s_naming_the_field(
    ui_client: Any, ui_store: Store, query: str, field: str
) -> None:
    run = demo_run(ui_store)
    response = ui_client.get(f"/runs/{run.id}/series.json?{query}")
    assert response.status_code == 400
    assert response.json()["error"]["field"] == field
    assert field in response.json()["error"]["message"]


# -- logs.json --------------------------------------------------------------------------


def test_logs_tail_from_the_previous_offset(fresh: Fresh) -> None:
    run = fresh.store.create_run(project="p")
    fresh.store.append_logs(run.id, "stdout", "epoch 1\n")
    fresh.store.append_logs(run.id, "stderr", "warning: slow\n")
    first = fresh.get(f"/runs/{run.id}/logs.json").json()
    assert first == {
        "text": "epoch 1\nwarning: slow\n",
        "offset": 22,
        "size": 22,
        "start": 0,
        "truncated": False,
    }
    fresh.store.append_logs(run.id, "stdout", "epoch 2 ✓\n")
    after = fresh.get(f"/runs/{run.id}/logs.json?offset={first['offset']}").json()
    assert after["text"] == "epoch 2 ✓\n" and after["offset"] == 32
    assert fresh.get(f"/runs/{run.id}/logs.json?offset=32").json()["text"] == ""
    stdout = fresh.get(f"/runs/{run.id}/logs.json?stream=stdout").json()
    assert stdout["text"] == "epoch 1\nepoch 2 ✓\n"
    assert fresh.get(f"/runs/{run.id}/logs.json?stream=all").json()["size"] == 32


def test_a_long_log_is_cut_to_its_last_megabyte_at_a_line_start(fresh: Fresh) -> None:
    run = fresh.store.create_run(project="p")
    line = "x" * 99 + "\n"
    fresh.store.append_logs(run.id, "stdout", line * 12_000)  # 1.2 million characters
    chunk = fresh.get(f"/runs/{run.id}/logs.json").json()
    assert chunk["truncated"] is True and chunk["size"] == 1_200_000
    assert len(chunk["text"]) <= MAX_LOG_CHARS and chunk["text"].startswith("x" * 99 + "\n")
    assert chunk["start"] + len(chunk["text"]) == chunk["offset"] == 1_200_000


@pytest.mark.parametrize(
    ("query", "field"),
    [("stream=stdin", "stream"), ("offset=-1", "offset"), ("offset=x", "offset")],
)
def test_bad_logs_parameters_are_400s(
    ui_client: Any, ui_store: Store, query: str, field: str
) -> None:
    response = ui_client.get(f"/runs/{demo_run(ui_store).id}/logs.json?{query}")
    assert response.status_code == 400 and response.json()["error"]["field"] == field


# -- writes from the page go through the API ---------------------------------------------


def test_tags_and_notes_edited_through_the_api_show_on_the_page(fresh: Fresh) -> None:
    run = fresh.store.create_run(project="p", tags=["old"])
    patch = {"tags_add": ["new"], "tags_remove": ["old"], "notes": "worth a rerun"}
    assert fresh.client.patch(f"/api/v1/runs/{run.id}", json=patch).json()["tags"] == ["new"]
    page = fresh.get(f"/runs/{run.id}").text
    assert 'aria-label="Remove tag new"' in page and "Remove tag old" not in page
    assert "worth a rerun</textarea>" in page
    assert f'"api": "/api/v1/runs/{run.id}"' in page  # where run.js sends the PATCH


def test_the_live_poll_asks_only_for_the_run_and_its_keys(fresh: Fresh) -> None:
    run = fresh.store.create_run(project="p", metadata={"git": {"diff": "x" * 100_000}})
    light = fresh.get(f"/runs/{run.id}.json?fields=run,metric_keys,system_keys").json()
    assert set(light) == {"run", "metric_keys", "system_keys"}
    assert fresh.get(f"/runs/{run.id}.json?fields=metadata").json()["metadata"]["git"]
    bad = fresh.get(f"/runs/{run.id}.json?fields=run,secrets")
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "fields"
    assert "'secrets'" in bad.json()["error"]["message"]
