"""What the REST store adds to the contract: errors as the server raised them,
authentication, names that need quoting, non-finite values, long listings,
experiments and the server's health."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np
import pytest

from ragtrack.entities import ExperimentMetric, MetricGoal, MetricSeries
from ragtrack.exceptions import (
    AlreadyExistsError,
    AuthenticationError,
    ExperimentNotFoundError,
    InvalidArgumentError,
    InvalidFilterError,
    ProjectNotFoundError,
    RunNotFoundError,
)
from ragtrack.storage.rest import RestStore

if TYPE_CHECKING:
    from live_server import LiveServer


@pytest.fixture
def store(server: LiveServer) -> Iterator[RestStore]:
    s = RestStore(server.url)
    yield s
    s.close()


def test_health(store: RestStore) -> None:
    health = store.health()
    assert health["status"] == "ok" and health["version"]


def test_errors_come_back_as_raised(store: RestStore) -> None:
    with pytest.raises(RunNotFoundError, match="nope"):
        store.get_run("nope")
    # Empty names cannot be path segments; they are answered as a SQL store does.
    with pytest.raises(RunNotFoundError):
        store.get_run("")
    with pytest.raises(RunNotFoundError):
        store.resolve_run_id("")
    with pytest.raises(ProjectNotFoundError):
        store.list_experiments("")
    with pytest.raises(ExperimentNotFoundError):
        store.get_experiment("p", "")
    with pytest.raises(InvalidArgumentError, match="project"):
        store.create_experiment("", "e")
    with pytest.raises(ProjectNotFoundError, match="zzz"):
        store.get_project("zzz")
    with pytest.raises(InvalidFilterError) as info:
        store.search_runs("p", "params.lr <")
    assert info.value.field == "filter" and info.value.text == "params.lr <"
    assert "^" in info.value.message
    store.create_run(project="p", run_id="taken")
    with pytest.raises(AlreadyExistsError, match="taken"):
        store.create_run(project="p", run_id="taken")


def test_names_that_need_quoting(store: RestStore) -> None:
    project, experiment = "team a/ü rag?#%", "exp/1 .. ✓"
    run = store.create_run(project=project, experiment=experiment)
    assert store.get_run(run.id).project == project
    assert store.get_project(project).run_count == 1
    assert [e.name for e in store.list_experiments(project)] == [experiment]
    assert store.get_experiment(project, experiment).run_count == 1
    store.log_metrics(run.id, {"eval/ndcg@5 ?": MetricSeries.from_lists([0], [0.5], [1.7e9])})
    assert store.get_history(run.id, "eval/ndcg@5 ?").values.tolist() == [0.5]
    found = store.search_runs(project, "experiment = 'exp/1 .. ✓'")
    assert [r.id for r in found] == [run.id]
    for name in (".", "..", "a/..", "%2F"):
        with pytest.raises(ProjectNotFoundError):
            store.get_project(name)
        with pytest.raises(RunNotFoundError):
            store.get_run(name)


def test_non_finite_values_round_trip(store: RestStore) -> None:
    config = {"lr": math.inf, "nested": {"x": -math.inf, "nan": math.nan}}
    run = store.create_run(project="p", config=config, metadata={"m": math.nan})
    store.set_summary(run.id, {"score": math.nan, "best": np.float32(0.5)})
    got = store.get_run(run.id)
    assert got.config["lr"] == math.inf and got.config["nested"]["x"] == -math.inf
    assert math.isnan(got.config["nested"]["nan"])
    assert math.isnan(got.summary["score"]) and got.summary["best"] == 0.5
    assert math.isnan(store.get_metadata(run.id)["m"])


def test_finish_run_sends_batch_summary_and_status_at_once(store: RestStore) -> None:
    from ragtrack.entities import RunStatus

    run = store.create_run(project="p")
    batch = {"loss": MetricSeries.from_lists([0, 1], [2.0, 1.0], [1.7e9, 1.7e9 + 1])}
    for _ in range(2):  # a retried finish applies once
        store.finish_run(
            run.id, status=RunStatus.COMPLETED, batch=batch, batch_id="last", summary={"k": 3}
        )
    got = store.get_run(run.id)
    assert got.status is RunStatus.COMPLETED and got.ended_at is not None
    assert got.metrics["loss"].count == 2 and got.summary["k"] == 3


def test_logs_are_idempotent_per_batch(store: RestStore) -> None:
    run = store.create_run(project="p")
    for _ in range(3):
        store.append_logs(run.id, "stdout", "once\n", batch_id="b1")
    store.append_logs(run.id, "stderr", "err\n")
    assert store.read_logs(run.id) == "once\nerr\n"
    assert store.read_logs(run.id, "stderr") == "err\n"


def test_experiments(store: RestStore) -> None:
    metrics = [
        ExperimentMetric("recall@10", MetricGoal.MAX),
        ExperimentMetric("cost", MetricGoal.MIN),
    ]
    made = store.create_experiment(
        "p",
        "baseline",
        description="d",
        datasets=["msmarco"],
        hyperparameters={"k": np.int64(5)},
        metrics=metrics,
        command="python train.py",
    )
    assert made.metrics == tuple(metrics) and made.hyperparameters == {"k": 5}
    with pytest.raises(AlreadyExistsError):
        store.create_experiment("p", "baseline")
    store.create_run(project="p", experiment="baseline")
    renamed = store.update_experiment("p", "baseline", new_name="v2", clear_command=True)
    assert (renamed.name, renamed.command, renamed.run_count) == ("v2", None, 1)
    assert store.get_experiment("p", "v2").datasets == ("msmarco",)
    assert store.delete_experiment("p", "v2") == 1
    with pytest.raises(ExperimentNotFoundError):
        store.get_experiment("p", "v2")
    assert store.count_runs("p") == 0
    assert store.create_project("q").name == "q"
    assert [p.name for p in store.list_projects()] == ["p", "q"]


def test_long_listings_page_through(store: RestStore, server: LiveServer) -> None:
    # Made behind the server, to keep the test fast; read through it.
    ids = [server.backend.create_run(project="p", created_at=1000.0 + i).id for i in range(1203)]
    newest_first = ids[::-1]
    assert [r.id for r in store.search_runs("p")] == newest_first
    assert [r.id for r in store.search_runs("p", limit=1100, offset=50)] == newest_first[50:1150]
    assert [r.id for r in store.search_runs("p", order_by=["created"], offset=1200)] == ids[1200:]
    assert store.search_runs("p", limit=0) == []
    assert store.count_runs("p") == 1203


def test_tokens(server: LiveServer, token_server_url: str) -> None:
    url = token_server_url  # the same store as ``server``, behind the token "s3cret"
    assert RestStore(url).health()["status"] == "ok"  # open without a token
    with pytest.raises(AuthenticationError):
        RestStore(url).list_projects()
    with pytest.raises(AuthenticationError) as info:
        RestStore(url, token="wrong").create_run(project="p")
    assert "wrong" not in info.value.message
    authorised = RestStore(url, token="s3cret")
    run = authorised.create_run(project="p")
    assert authorised.get_run(run.id).id == run.id


def test_filter_warnings_are_one_request_whatever_the_number_of_projects(
    store: RestStore, server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    for i in range(5):
        server.backend.create_run(project=f"p{i}", config={"chunker": {"size": 512}})
    requests: list[str] = []
    send = store._http.request

    def counted(method: str, path: str, **kwargs: object) -> object:
        requests.append(f"{method} {path}")
        return send(method, path, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(store._http, "request", counted)
    (warning,) = store.filter_warnings(None, "params.chunker.sise = 512")
    assert warning.message == "no run has params.chunker.sise; did you mean params.chunker.size?"
    assert requests == ["GET /api/v1/runs"]  # not one list_run_keys per project
    assert store.filter_warnings(None, "params.chunker.size = 512") == []
