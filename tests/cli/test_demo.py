"""The demo job (ragtrack/demo.py) and ``ragtrack demo``."""

from __future__ import annotations

import shlex
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

import ragtrack
from ragtrack import Api
from ragtrack.demo import CHUNK_SIZES, log_demo_runs, sweep_plan
from ragtrack.exceptions import InvalidArgumentError

Invoke = Callable[..., Result]

EVAL_KEYS = {"recall@5", "recall@10", "ndcg@10", "mrr", "faithfulness", "latency_ms"}


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str], float]:
    """The default demo, logged once for the module: (dir, ids, seconds taken)."""
    store = tmp_path_factory.mktemp("demo")
    start = time.perf_counter()
    ids = log_demo_runs(store)
    return store, ids, time.perf_counter() - start


def test_demo_logs_the_expected_runs(demo_store: tuple[Path, list[str], float]) -> None:
    store, ids, _ = demo_store
    api = Api(store)
    assert len(ids) == 15
    assert api.count_runs("rag-demo") == 15
    experiments = {e.name: e.run_count for e in api.experiments("rag-demo")}
    assert experiments == {"chunking": 12, "reranker": 3}
    runs = [api.run(run_id) for run_id in ids]
    sweep = [r for r in runs if r.experiment == "chunking"]
    assert {r.params["chunker"]["size"] for r in sweep} == set(CHUNK_SIZES)
    assert sum("baseline" in r.tags for r in runs) == 1
    assert all("candidate" in r.tags for r in runs if r.experiment == "reranker")
    for run in runs[:-1]:
        assert run.status.value == "completed"
        assert set(run.summary) >= EVAL_KEYS
        assert run.record.metrics["train/loss"].count == 300
        assert run.record.metrics["eval/loss"].count == 6
        assert set(run.params) >= {"retriever", "chunker", "generator"}
        assert set(run.params["retriever"]) == {"top_k", "embedding_model"}
    api.close()


def test_demo_has_one_failed_run_with_a_traceback(
    demo_store: tuple[Path, list[str], float],
) -> None:
    store, ids, _ = demo_store
    api = Api(store)
    failed = api.runs("rag-demo", filter='status = "failed"')
    assert [r.id for r in failed] == [ids[-1]]
    error = failed[0].error or ""
    assert error.startswith("Traceback (most recent call last):")
    assert "DemoFailure: CUDA out of memory" in error
    api.close()


def test_best_run_by_recall_has_512_token_chunks(
    demo_store: tuple[Path, list[str], float],
) -> None:
    api = Api(demo_store[0])
    best = api.runs("rag-demo", order_by="-metrics.recall@10", limit=1)[0]
    assert best.params["chunker"]["size"] == 512
    # Within the sweep alone too: chunk size is the param that matters.
    best_sweep = api.runs(
        "rag-demo", filter='experiment = "chunking"', order_by="-metrics.recall@10", limit=1
    )[0]
    assert best_sweep.params["chunker"]["size"] == 512
    api.close()


def test_demo_is_quick(demo_store: tuple[Path, list[str], float]) -> None:
    assert demo_store[2] < 10.0


def _logged(store: Path) -> list[tuple[Any, ...]]:
    """What a seed determines: names, params, tags, summaries (not ids or times)."""
    api = Api(store)
    runs = api.runs("rag-demo", order_by="created")
    out = [(r.name, r.params, r.tags, r.summary, r.status.value) for r in runs]
    api.close()
    return out


def test_demo_is_deterministic_for_a_seed(tmp_path: Path) -> None:
    log_demo_runs(tmp_path / "a", n_runs=4, seed=3)
    log_demo_runs(tmp_path / "b", n_runs=4, seed=3)
    log_demo_runs(tmp_path / "c", n_runs=4, seed=4)
    assert _logged(tmp_path / "a") == _logged(tmp_path / "b")
    assert _logged(tmp_path / "a") != _logged(tmp_path / "c")


@pytest.mark.parametrize("seed", range(20))
def test_every_seed_plans_a_512_run_early(seed: int) -> None:
    assert any(size == 512 for size, _, _ in sweep_plan(2, seed))


def test_chunk_size_dominates_the_other_effects_and_the_noise() -> None:
    # Why the best run has 512-token chunks for every seed, not just the default.
    from ragtrack import demo

    worst_512 = demo._CHUNK_RECALL[512] + min(demo._EMBED_RECALL.values())
    best_other = max(demo._CHUNK_RECALL[s] for s in (256, 1024)) + max(demo._EMBED_RECALL.values())
    assert worst_512 - best_other > 2 * demo._NOISE_BOUND


def test_sweep_plan_beyond_the_grid_repeats_configs() -> None:
    plan = sweep_plan(40)
    assert len(plan) == 40 and len(set(plan)) == 27


@pytest.mark.parametrize("n_runs", [0, 501, True])
def test_bad_run_counts_are_refused(tmp_path: Path, n_runs: int) -> None:
    with pytest.raises(InvalidArgumentError, match="n_runs must be an int from 1 to 500"):
        log_demo_runs(tmp_path, n_runs=n_runs)


def test_demo_command_prints_runnable_commands(
    tmp_path: Path, ragtrack_cli: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ragtrack.cli import demo as demo_command

    # How the CLI is reached depends on the installation (tested below).
    monkeypatch.setattr(demo_command, "cli_command", lambda: "ragtrack")
    result = ragtrack_cli("demo", "--runs", "3")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.startswith(
        "Logged 6 runs to project 'rag-demo': 3 in experiment 'chunking', 3 in 'reranker' "
        "(1 failed on purpose).\n"
    )
    assert "chunk size 512)" in out
    commands = [line.strip() for line in out.splitlines() if line.strip().startswith("ragtrack ")]
    assert (
        f"ragtrack --dir {tmp_path} runs list --project rag-demo --order-by -metrics.recall@10"
        in (commands)
    )
    assert any(
        c.endswith(" runs list --project rag-demo --filter 'status = \"failed\"'") for c in commands
    )
    for command in commands:
        args = shlex.split(command)[1:]
        run = ragtrack_cli(*args)  # a repeated --dir is harmless: the last one wins
        assert run.exit_code == 0, (command, run.output)
    filtered = ragtrack_cli(*shlex.split(commands[1])[1:])
    assert filtered.stdout.splitlines()[-1].endswith(" runs")
    assert "api = ragtrack.Api(" in out
    assert f"Or in the browser: ragtrack --dir {tmp_path} ui\n" in out


def test_demo_command_rejects_zero_runs(ragtrack_cli: Invoke) -> None:
    result = ragtrack_cli("demo", "--runs", "0")
    assert result.exit_code == 2


def test_suggested_commands_work_without_an_activated_virtualenv(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ragtrack.cli import demo as demo_command

    bin_dir = tmp_path / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "ragtrack").write_text("#!/bin/sh\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(demo_command.sys, "executable", str(bin_dir / "python"))
    monkeypatch.setattr(demo_command.shutil, "which", lambda name: None)
    assert demo_command.cli_command() == ".venv/bin/ragtrack"
    monkeypatch.setattr(demo_command.shutil, "which", lambda name: str(bin_dir / "ragtrack"))
    assert demo_command.cli_command() == "ragtrack"
    (bin_dir / "ragtrack").unlink()  # not installed as a script: run the module
    assert demo_command.cli_command() == ".venv/bin/python -m ragtrack"


def test_negative_seed_is_a_usage_error(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from ragtrack.cli import cli

    result = CliRunner().invoke(cli, ["--dir", str(tmp_path), "demo", "--seed", "-1"])
    assert result.exit_code == 2 and "unexpected" not in result.output


def test_running_the_demo_again_replaces_its_runs_and_nothing_else(tmp_path: Path) -> None:
    # `make run` twice: one demo (15 runs, unique names), not two on top of each other.
    store = tmp_path / "store"
    first = log_demo_runs(store, n_runs=2)
    with ragtrack.init(project="rag-demo", experiment="mine", name="keep-me", dir=store) as run:
        run.log({"recall@10": 0.5})
    with ragtrack.init(project="other", name="keep-me-too", dir=store):
        pass
    second = log_demo_runs(store, n_runs=2)
    api = Api(store)
    try:
        runs = api.runs("rag-demo")
        names = [r.name for r in runs]
        assert sorted(r.id for r in runs if r.experiment != "mine") == sorted(second)
        assert not set(first) & {r.id for r in runs}
        assert len(names) == len(set(names)) == 6
        assert "keep-me" in names
        assert [r.name for r in api.runs("other")] == ["keep-me-too"]
        assert {e.name: e.run_count for e in api.experiments("rag-demo")} == {
            "chunking": 2,
            "reranker": 3,
            "mine": 1,
        }
    finally:
        api.close()


def test_the_demo_refuses_to_replace_an_experiment_it_did_not_define(tmp_path: Path) -> None:
    store = tmp_path / "store"
    with ragtrack.init(project="work", experiment="chunking", name="real", dir=store):
        pass
    with pytest.raises(InvalidArgumentError, match="did not define; run the demo in another"):
        log_demo_runs(store, project="work", n_runs=1)
    api = Api(store)
    try:
        assert [r.name for r in api.runs("work")] == ["real"]
    finally:
        api.close()
