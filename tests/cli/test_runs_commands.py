"""``ragtrack runs list/show/delete/logs/history``, in process."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from ragtrack.cli import runs as runs_module
from ragtrack.sdk.api import Api
from ragtrack.storage import open_store

Invoke = Callable[..., Result]

#: The keys of ``ApiRun.to_dict()``: the API's run object (docs/cli.md, docs/server.md).
RUN_KEYS = {
    "id",
    "name",
    "project",
    "experiment",
    "status",
    "created_at",
    "started_at",
    "ended_at",
    "heartbeat_at",
    "duration_s",
    "tags",
    "notes",
    "config",
    "summary",
    "explicit_summary",
    "metrics",
    "error",
}
METRIC_KEYS = {"count", "last", "last_step", "last_time", "min", "max"}


def data_rows(output: str) -> list[str]:
    """The table's rows: without the header and the footer."""
    return output.splitlines()[1:-1]


# -- list ---------------------------------------------------------------------------


def test_list_shows_every_run_newest_first_with_a_footer(
    run_ids: dict[str, str], ragtrack_cli: Invoke
) -> None:
    result = ragtrack_cli("runs", "list")
    assert result.exit_code == 0, result.output
    header, *rows, footer = result.stdout.splitlines()
    assert header.split()[:5] == ["id", "name", "status", "created", "duration"]
    names = [row.split()[1] for row in rows]
    assert names == ["delta", "gamma", "beta", "alpha"]
    assert rows[0].startswith(run_ids["delta"])  # the full 16-character id
    assert "failed" in rows[1] and "completed" in rows[2]
    assert footer == "4 of 4 runs"


def test_list_picks_metric_columns_without_system_keys(
    run_ids: dict[str, str], ragtrack_cli: Invoke
) -> None:
    result = ragtrack_cli("runs", "list", "--project", "search")
    header = result.stdout.splitlines()[0].split()
    # Top-level keys come before namespaced ones; system/ keys never show.
    assert header[5:] == ["ndcg@10", "recall@10", "train/loss"]
    rows = {row.split()[1]: row.split() for row in data_rows(result.stdout)}
    # Columns: id, name, status, created (date and time), duration, then metrics.
    assert rows["beta"][6:] == ["0.63", "0.7123", "0.45"]  # 4 significant digits
    assert rows["gamma"][6:] == ["-", "-", "2.5"]


def test_list_puts_the_order_by_metric_first(run_ids: dict[str, str], ragtrack_cli: Invoke) -> None:
    result = ragtrack_cli("runs", "list", "-p", "search", "--order-by", "-metrics.recall@10")
    assert result.stdout.splitlines()[0].split()[5] == "recall@10"
    assert [r.split()[1] for r in data_rows(result.stdout)] == ["beta", "alpha", "gamma"]


def test_list_metric_option_chooses_columns(run_ids: dict[str, str], ragtrack_cli: Invoke) -> None:
    result = ragtrack_cli("runs", "list", "-m", "acc", "-m", "system/cpu_percent")
    assert result.stdout.splitlines()[0].split()[5:] == ["acc", "system/cpu_percent"]
    delta = next(r for r in data_rows(result.stdout) if "delta" in r)
    assert delta.split()[6:] == ["Infinity", "12"]


def test_list_filters_by_project_and_filter(run_ids: dict[str, str], ragtrack_cli: Invoke) -> None:
    result = ragtrack_cli("runs", "list", "--filter", "params.retriever.top_k = 10")
    assert [r.split()[1] for r in data_rows(result.stdout)] == ["beta"]
    assert result.stdout.splitlines()[-1] == "1 of 1 runs"
    result = ragtrack_cli("runs", "list", "--project", "other")
    assert [r.split()[1] for r in data_rows(result.stdout)] == ["delta"]
    result = ragtrack_cli("runs", "list", "-f", 'status = "failed" or tags = "baseline"')
    assert sorted(r.split()[1] for r in data_rows(result.stdout)) == ["alpha", "gamma"]


def test_list_limit_and_offset_page_through_runs(
    run_ids: dict[str, str], ragtrack_cli: Invoke
) -> None:
    result = ragtrack_cli("runs", "list", "--limit", "2")
    assert [r.split()[1] for r in data_rows(result.stdout)] == ["delta", "gamma"]
    assert result.stdout.splitlines()[-1] == "2 of 4 runs; next page: --offset 2"
    result = ragtrack_cli("runs", "list", "--limit", "2", "--offset", "2")
    assert [r.split()[1] for r in data_rows(result.stdout)] == ["beta", "alpha"]
    assert result.stdout.splitlines()[-1] == "2 of 4 runs (from #3)"
    result = ragtrack_cli("runs", "list", "--limit", "0")
    assert len(data_rows(result.stdout)) == 4


def test_list_of_nothing_says_so(run_ids: dict[str, str], ragtrack_cli: Invoke) -> None:
    result = ragtrack_cli("runs", "list", "--project", "missing")
    assert result.exit_code == 0
    assert result.stdout.startswith("0 runs (there is no project 'missing'")


def test_list_json_is_strict_and_has_the_documented_keys(
    run_ids: dict[str, str], ragtrack_cli: Invoke
) -> None:
    result = ragtrack_cli("runs", "list", "--json")
    assert result.exit_code == 0, result.output
    runs = json.loads(result.stdout, parse_constant=pytest.fail)  # NaN/Infinity would call it
    assert [r["name"] for r in runs] == ["delta", "gamma", "beta", "alpha"]
    for run in runs:
        assert set(run) == RUN_KEYS
        assert isinstance(run["created_at"], float)  # seconds since the epoch, as in the API
        assert all(set(m) == METRIC_KEYS for m in run["metrics"].values())
    delta, gamma, beta, alpha = runs
    assert delta["summary"]["acc"] == "Infinity"
    assert delta["metrics"]["acc"]["min"] == "Infinity"  # min and max ignore NaN
    assert beta["config"] == {"retriever": {"top_k": 10, "model": "e5"}, "lr": 0.001}
    assert beta["summary"]["checkpoint"] == "beta-final"
    assert beta["explicit_summary"]["checkpoint"] == "beta-final"
    assert alpha["tags"] == ["baseline"] and alpha["experiment"] == "chunking"
    assert isinstance(alpha["duration_s"], float)
    assert gamma["status"] == "failed" and "ValueError: loss exploded" in gamma["error"]


def test_list_json_applies_filter_and_order(run_ids: dict[str, str], ragtrack_cli: Invoke) -> None:
    result = ragtrack_cli("runs", "list", "-p", "search", "-o", "metrics.recall@10", "--json")
    assert [r["name"] for r in json.loads(result.stdout)] == ["alpha", "beta", "gamma"]


@pytest.mark.parametrize(
    ("option", "text", "position"),
    [
        ("--filter", "metrics.recall@10 >> 3", 19),
        ("--filter", "params.lr < ", 12),
        ("--order-by", "-metrics.recall@10, tags", 20),
    ],
)
def test_bad_filter_exits_2_with_a_caret_and_no_traceback(
    run_ids: dict[str, str], ragtrack_cli: Invoke, option: str, text: str, position: int
) -> None:
    result = ragtrack_cli("runs", "list", option, text)
    assert result.exit_code == 2
    assert result.stdout == ""
    first, quoted, caret = result.stderr.splitlines()
    assert first.startswith("Error: ") and first.endswith(f"at position {position}:")
    assert quoted == f"  {text}"
    assert caret == " " * (2 + position) + "^"
    assert "Traceback" not in result.output


# -- show ---------------------------------------------------------------------------


def test_show_by_prefix_prints_the_report(run_ids: dict[str, str], ragtrack_cli: Invoke) -> None:
    run_id = run_ids["beta"]
    result = ragtrack_cli("runs", "show", run_id[:6])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.startswith(f"Run {run_id}  beta\n")
    assert "  project   search / chunking\n" in out
    assert "  status    completed\n" in out
    assert "  tags      candidate\n" in out
    assert "Params\n  retriever:\n    top_k: 10\n    model: e5\n  lr: 0.001\n" in out
    metrics = out.split("Metrics\n")[1].split("\n\n")[0].splitlines()
    assert metrics[0].split() == ["key", "last", "min", "max", "count", "last", "step"]
    assert metrics[2].split() == ["recall@10", "0.712345", "0.712345", "0.712345", "1", "10"]
    assert metrics[3].split() == ["train/loss", "0.45", "0.45", "0.9", "10", "9"]
    assert "Summary (set explicitly)\n  checkpoint  beta-final\n" in out
    assert "Error" not in out


def test_show_failed_run_prints_its_traceback(
    run_ids: dict[str, str], ragtrack_cli: Invoke
) -> None:
    result = ragtrack_cli("runs", "show", run_ids["gamma"])
    error = result.stdout.split("\nError\n")[1]
    assert error.startswith("  Traceback (most recent call last):")
    assert "  ValueError: loss exploded" in error


def test_show_counts_system_metrics_apart(run_ids: dict[str, str], ragtrack_cli: Invoke) -> None:
    out = ragtrack_cli("runs", "show", run_ids["delta"]).stdout
    assert "(+ 1 system/ series" in out
    assert "\n  acc  Infinity  Infinity  Infinity      2          1\n" in out


def test_show_json_includes_metadata(run_ids: dict[str, str], ragtrack_cli: Invoke) -> None:
    result = ragtrack_cli("runs", "show", run_ids["alpha"], "--json")
    data = json.loads(result.stdout)
    assert set(data) == RUN_KEYS | {"metadata"}
    assert data["notes"] == "first try"


def test_show_unknown_id_exits_1_with_one_line(
    run_ids: dict[str, str], ragtrack_cli: Invoke
) -> None:
    result = ragtrack_cli("runs", "show", "ffffffffffff")
    assert result.exit_code == 1
    assert result.stderr == "Error: no run with an id starting with 'ffffffffffff'\n"
    result = ragtrack_cli("runs", "show", "ab")
    assert result.exit_code == 2
    assert "4 or more characters" in result.stderr


def test_ambiguous_prefix_exits_2(tmp_path: Path, ragtrack_cli: Invoke) -> None:
    with open_store(dir=tmp_path) as s:
        s.create_run(project="search", run_id="abcd0001")
        s.create_run(project="search", run_id="abcd0002")
    result = ragtrack_cli("runs", "show", "abcd")
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: 'abcd' matches several runs")


def test_debug_prints_the_traceback(run_ids: dict[str, str], ragtrack_cli: Invoke) -> None:
    result = ragtrack_cli("runs", "show", "ffffffffffff")
    assert "Traceback" not in result.stderr
    result = ragtrack_cli("--debug", "runs", "show", "ffffffffffff")
    assert result.exit_code == 1
    assert result.stderr.startswith("Traceback (most recent call last):")
    assert result.stderr.endswith("Error: no run with an id starting with 'ffffffffffff'\n")


def test_unexpected_errors_are_one_line(
    run_ids: dict[str, str], ragtrack_cli: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(Api, "runs", broken)
    result = ragtrack_cli("runs", "list")
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: unexpected RuntimeError: disk on fire (run with --debug for the traceback)\n"
    )


# -- delete ---------------------------------------------------------------------------


def test_delete_with_yes(run_ids: dict[str, str], ragtrack_cli: Invoke) -> None:
    run_id = run_ids["alpha"]
    result = ragtrack_cli("runs", "delete", run_id[:8], "--yes")
    assert result.exit_code == 0, result.output
    assert result.stdout == f"Deleted run {run_id} (alpha).\n"
    assert ragtrack_cli("runs", "show", run_id).exit_code == 1


def test_delete_without_yes_and_without_a_terminal_refuses(
    run_ids: dict[str, str], ragtrack_cli: Invoke
) -> None:
    run_id = run_ids["alpha"]
    result = ragtrack_cli("runs", "delete", run_id)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: refusing to delete run {run_id} (alpha)")
    assert "pass --yes" in result.stderr
    assert ragtrack_cli("runs", "show", run_id).exit_code == 0


@pytest.mark.parametrize(("answer", "deleted"), [("y\n", True), ("n\n", False)])
def test_delete_asks_on_a_terminal(
    run_ids: dict[str, str],
    ragtrack_cli: Invoke,
    monkeypatch: pytest.MonkeyPatch,
    answer: str,
    deleted: bool,
) -> None:
    monkeypatch.setattr(runs_module, "stdin_is_interactive", lambda: True)
    run_id = run_ids["beta"]
    result = ragtrack_cli("runs", "delete", run_id, input=answer)
    assert f"Delete run {run_id} (beta, project search)" in result.stdout
    assert result.exit_code == (0 if deleted else 1)
    assert (ragtrack_cli("runs", "show", run_id).exit_code == 1) is deleted


def test_delete_unknown_run(run_ids: dict[str, str], ragtrack_cli: Invoke) -> None:
    result = ragtrack_cli("runs", "delete", "ffffffff", "--yes")
    assert result.exit_code == 1 and result.stderr.startswith("Error: no run")


# -- logs and history -----------------------------------------------------------------


def test_logs_prints_captured_output(run_ids: dict[str, str], ragtrack_cli: Invoke) -> None:
    run_id = run_ids["alpha"]
    assert ragtrack_cli("runs", "logs", run_id).stdout == "epoch 1\nwarning: slow\nepoch 2\n"
    result = ragtrack_cli("runs", "logs", run_id, "--stream", "stderr")
    assert result.stdout == "warning: slow\n"
    result = ragtrack_cli("runs", "logs", run_ids["beta"])
    assert result.exit_code == 0
    assert result.stdout == ""
    assert "no captured console output" in result.stderr


def test_logs_rejects_an_unknown_stream(run_ids: dict[str, str], ragtrack_cli: Invoke) -> None:
    result = ragtrack_cli("runs", "logs", run_ids["alpha"], "--stream", "stdin")
    assert result.exit_code == 2


def test_history_table(run_ids: dict[str, str], ragtrack_cli: Invoke) -> None:
    result = ragtrack_cli("runs", "history", run_ids["alpha"], "train/loss")
    assert result.exit_code == 0, result.output
    header, *rows = result.stdout.splitlines()
    assert header.split() == ["step", "value", "time"]
    assert len(rows) == 10
    assert rows[1].split()[:2] == ["1", "0.95"]


def test_history_json_spells_out_non_finite_values(
    run_ids: dict[str, str], ragtrack_cli: Invoke
) -> None:
    result = ragtrack_cli("runs", "history", run_ids["delta"], "acc", "--json")
    data = json.loads(result.stdout, parse_constant=pytest.fail)
    assert data["run_id"] == run_ids["delta"] and data["key"] == "acc"
    assert data["steps"] == [0, 1]
    assert data["values"] == ["NaN", "Infinity"]
    assert len(data["timestamps"]) == 2 and all(isinstance(t, float) for t in data["timestamps"])


def test_history_of_an_unknown_key_names_the_known_ones(
    run_ids: dict[str, str], ragtrack_cli: Invoke
) -> None:
    result = ragtrack_cli("runs", "history", run_ids["alpha"], "recall@5")
    assert result.exit_code == 1
    assert "has no metric 'recall@5'; its metrics are: ndcg@10, recall@10, train/loss" in (
        result.stderr
    )


@pytest.mark.parametrize("option", ["--limit", "--offset"])
def test_out_of_range_paging_is_a_usage_error(
    run_ids: dict[str, str], ragtrack_cli: Invoke, option: str
) -> None:
    result = ragtrack_cli("runs", "list", option, "99999999999999999999")
    assert result.exit_code == 2
    assert "Traceback" not in result.output and "unexpected" not in result.output


def test_a_misspelled_key_warns_on_stderr_and_names_the_nearest(
    run_ids: dict[str, str], ragtrack_cli: Invoke
) -> None:
    result = ragtrack_cli("runs", "list", "-p", "search", "-f", "metrics.recal@10 > 0.5")
    assert result.exit_code == 0
    assert result.stdout.splitlines()[-1] == "0 runs"
    assert result.stderr.startswith(
        "Warning: no run has metrics.recal@10; did you mean metrics.recall@10"
    )
    as_json = ragtrack_cli("runs", "list", "-f", "params.retriever.topk = 5", "--json")
    assert json.loads(as_json.stdout) == []  # stdout stays one JSON document
    assert "did you mean params.retriever.top_k?" in as_json.stderr
    fine = ragtrack_cli("runs", "list", "-f", "params.retriever.top_k = 10")
    assert fine.stderr == ""


def test_times_stored_out_of_range_still_list(
    run_ids: dict[str, str], tmp_path: Path, ragtrack_cli: Invoke
) -> None:
    """A run stored by a version that took a millisecond epoch (or 1e300) used
    to crash `runs list`; it reads as the nearest time in range."""

    from ragtrack.storage.sql import SqlStore
    from ragtrack.storage.sql._schema import runs

    store = open_store(dir=tmp_path)
    assert isinstance(store, SqlStore)
    with store._engine.begin() as conn:
        conn.execute(
            runs.update()
            .where(runs.c.id == run_ids["alpha"])
            .values(created_at=1733300000000, started_at=1e300, ended_at=-1e300)
        )
    store.close()
    listed = ragtrack_cli("runs", "list")
    assert listed.exit_code == 0, listed.output
    assert "alpha" in listed.stdout
    shown = ragtrack_cli("runs", "show", run_ids["alpha"])
    assert shown.exit_code == 0, shown.output
    alpha = next(r for r in json.loads(ragtrack_cli("runs", "list", "--json").stdout)
                 if r["name"] == "alpha")  # fmt: skip
    assert (alpha["created_at"], alpha["started_at"], alpha["ended_at"]) == (
        253402300799.0,
        253402300799.0,
        0.0,
    )
