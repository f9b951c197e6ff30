"""Runs over HTTP: create, search, paginate, change, finish, delete, params."""

from __future__ import annotations

import math
import time
from typing import Any

import pytest

API = "/api/v1"


def test_create_and_get_run(api: Any) -> None:
    run = api.run(
        experiment="chunking",
        name="baseline",
        run_id="run-0001",
        config={"retriever": {"top_k": 5}, "lr": math.nan, "big": math.inf, "ключ": "значение"},
        tags=["b", "a"],
        notes="first",
        status="queued",
        created_at=1_700_000_000.5,
        metadata={"git": {"commit": "abc"}},
    )
    assert run["id"] == "run-0001" and run["status"] == "queued"
    assert run["created_at"] == 1_700_000_000.5 and run["tags"] == ["a", "b"]
    got = api.ok("GET", f"{API}/runs/run-0001")
    assert math.isnan(got["config"]["lr"]) and got["config"]["big"] == math.inf
    assert got["config"]["ключ"] == "значение" and got["experiment"] == "chunking"
    params = api.ok("GET", f"{API}/runs/run-0001/params")["config"]
    assert math.isnan(params["lr"]) and params["retriever"] == {"top_k": 5}
    assert api.ok("GET", f"{API}/runs/run-0001/metadata") == {
        "metadata": {"git": {"commit": "abc"}}
    }


def test_create_run_errors(api: Any) -> None:
    api.run(run_id="dup")
    api.error(
        "POST",
        f"{API}/runs",
        {"project": "search", "run_id": "dup"},
        status=409,
        code="ALREADY_EXISTS",
    )
    api.error(
        "POST",
        f"{API}/runs",
        {"project": "search", "run_id": "a/b"},
        status=400,
        code="INVALID_ARGUMENT",
        field="run_id",
    )
    api.error("POST", f"{API}/runs", {"project": ""}, status=400, code="INVALID_ARGUMENT")
    api.error(
        "POST",
        f"{API}/runs",
        {"project": "p", "config": [1, 2]},
        status=400,
        code="INVALID_ARGUMENT",
        field="body.config",
    )
    api.error(
        "POST",
        f"{API}/runs",
        {"project": "p", "status": "sleeping"},
        status=400,
        code="INVALID_ARGUMENT",
        field="body.status",
    )
    api.error(
        "POST",
        f"{API}/runs",
        {"project": "p", "created_at": math.nan},
        status=400,
        code="INVALID_ARGUMENT",
        field="body.created_at",
    )
    api.error(
        "POST",
        f"{API}/runs",
        {"project": "p", "tags": "solo"},
        status=400,
        code="INVALID_ARGUMENT",
        field="body.tags",
    )
    api.error(
        "POST",
        f"{API}/runs",
        {"project": "p", "config": {" bad key": 1}},
        status=400,
        code="INVALID_ARGUMENT",
    )


def test_unknown_run_is_404_everywhere(api: Any) -> None:
    for method, path, body in [
        ("GET", "/runs/nope", None),
        ("PATCH", "/runs/nope", {"notes": "x"}),
        ("DELETE", "/runs/nope", None),
        ("POST", "/runs/nope/finish", {"status": "completed"}),
        ("POST", "/runs/nope/finish", {"status": "completed", "summary": {"a": 1}}),
        ("POST", "/runs/nope/heartbeat", {}),
        ("GET", "/runs/nope/params", None),
        ("PATCH", "/runs/nope/params", {"config": {"a": 1}}),
        ("PATCH", "/runs/nope/summary", {"values": {"a": 1}}),
        ("GET", "/runs/nope/metadata", None),
        ("PATCH", "/runs/nope/metadata", {"metadata": {"a": 1}}),
        ("GET", "/runs/nope/metrics", None),
        ("GET", "/runs/nope/logs", None),
        ("POST", "/runs/nope/logs", {"stream": "stdout", "text": "x"}),
        ("GET", "/runs/nope/artifacts", None),
        ("PUT", "/runs/nope/artifacts/a.txt", None),
        ("GET", "/run-ids/nope", None),
    ]:
        kwargs = {} if body is None else {"body": body}
        message = api.error(method, API + path, status=404, code="RUN_NOT_FOUND", **kwargs)
        assert "nope" in message


def test_search_count_and_resolve(api: Any) -> None:
    a = api.run(name="a", config={"top_k": 5})
    b = api.run(name="b", config={"top_k": 10})
    api.run(project="other", name="c")
    found = api.ok("GET", f"{API}/runs", params={"project": "search", "filter": "params.top_k > 6"})
    assert [r["id"] for r in found["runs"]] == [b["id"]]
    ordered = api.ok("GET", f"{API}/runs", params={"project": "search", "order_by": "params.top_k"})
    assert [r["name"] for r in ordered["runs"]] == ["a", "b"]
    newest = api.ok("GET", f"{API}/runs", params={"order_by": "-created, name"})
    assert [r["name"] for r in newest["runs"]] == ["c", "b", "a"]
    assert api.ok("GET", f"{API}/run-count", params={"project": "search"}) == {"count": 2}
    assert api.ok("GET", f"{API}/run-count", params={"filter": "name = 'c'"}) == {"count": 1}
    assert api.ok("GET", f"{API}/run-ids/{a['id'][:8]}") == {"id": a["id"]}
    api.error("GET", f"{API}/run-ids/ab", status=400, code="INVALID_ARGUMENT")


def test_a_run_with_any_valid_id_is_reachable(api: Any) -> None:
    # Ids that read like route names ("count") are ids like any other.
    for run_id in ("count", "run-ids", "search"):
        api.run(run_id=run_id, name=f"named-{run_id}")
        assert api.ok("GET", f"{API}/runs/{run_id}")["name"] == f"named-{run_id}"
        assert api.ok("PATCH", f"{API}/runs/{run_id}", {"notes": "x"})["notes"] == "x"
    assert api.ok("GET", f"{API}/run-count") == {"count": 3}


def test_bad_filter_and_order_by(api: Any) -> None:
    message = api.error(
        "GET",
        f"{API}/runs",
        params={"filter": "metrics.loss >> 1"},
        status=400,
        code="INVALID_FILTER",
        field="filter",
    )
    assert "position" in message
    api.error(
        "GET",
        f"{API}/run-count",
        params={"filter": "(("},
        status=400,
        code="INVALID_FILTER",
        field="filter",
    )
    api.error("GET", f"{API}/runs", params={"order_by": "tags"}, status=400, code="INVALID_FILTER")
    for limit in ("0", "1001", "ten"):
        api.error(
            "GET",
            f"{API}/runs",
            params={"limit": limit},
            status=400,
            code="INVALID_ARGUMENT",
            field="query.limit",
        )


def test_pagination_returns_every_run_exactly_once(api: Any, store: Any) -> None:
    for i in range(250):
        store.create_run(project="search", name=f"run-{i}", created_at=1_700_000_000.0 + i)
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"project": "search", "limit": 100}
        if cursor is not None:
            params["cursor"] = cursor
        page = api.ok("GET", f"{API}/runs", params=params)
        pages += 1
        seen.extend(r["name"] for r in page["runs"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert len(seen) == len(set(seen)) == 250
    assert seen[0] == "run-249" and seen[-1] == "run-0"  # newest first


def test_update_run_and_tags(api: Any) -> None:
    run = api.run(tags=["a"])
    path = f"{API}/runs/{run['id']}"
    updated = api.ok(
        "PATCH",
        path,
        {"name": "renamed", "notes": "n", "tags_add": ["b", "c"], "tags_remove": ["a"]},
    )
    assert updated["name"] == "renamed" and updated["notes"] == "n"
    assert updated["tags"] == ["b", "c"]
    failed = api.ok("PATCH", path, {"status": "failed", "error": "boom", "ended_at": 1.7e9})
    assert failed["status"] == "failed" and failed["error"] == "boom"
    assert failed["ended_at"] == 1.7e9
    api.error(
        "PATCH", path, {"status": "done"}, status=400, code="INVALID_ARGUMENT", field="body.status"
    )
    api.error(
        "PATCH",
        path,
        {"ended_at": "soon"},
        status=400,
        code="INVALID_ARGUMENT",
        field="body.ended_at",
    )
    api.error("PATCH", path, {"tags_add": [""]}, status=400, code="INVALID_ARGUMENT")


def test_finish_run_in_one_call(api: Any) -> None:
    run = api.run()
    path = f"{API}/runs/{run['id']}"
    batch = {
        "batch_id": "last",
        "series": {"loss": {"steps": [0, 1], "values": [0.5, 0.25], "timestamps": [1.0, 2.0]}},
    }
    assert (
        api.ok(
            "POST",
            f"{path}/finish",
            {"status": "completed", "batch": batch, "summary": {"best": math.nan, "note": "ok"}},
        )
        is None
    )
    got = api.ok("GET", path)
    assert got["status"] == "completed" and got["ended_at"] is not None
    assert got["metrics"]["loss"]["count"] == 2 and got["metrics"]["loss"]["last"] == 0.25
    assert math.isnan(got["explicit_summary"]["best"]) and got["explicit_summary"]["note"] == "ok"
    # The same batch id again is a no-op.
    api.ok("POST", f"{path}/finish", {"status": "completed", "batch": batch})
    assert api.ok("GET", path)["metrics"]["loss"]["count"] == 2
    api.error(
        "POST", f"{path}/finish", {}, status=400, code="INVALID_ARGUMENT", field="body.status"
    )
    bad = {"series": {"loss": {"steps": [0], "values": [], "timestamps": []}}}
    api.error(
        "POST",
        f"{path}/finish",
        {"status": "completed", "batch": bad},
        status=400,
        code="INVALID_ARGUMENT",
    )


def test_heartbeat(api: Any) -> None:
    run = api.run()
    path = f"{API}/runs/{run['id']}"
    assert api.ok("POST", f"{path}/heartbeat", {"at": 1_700_000_000.0}) is None
    assert api.ok("GET", path)["heartbeat_at"] == 1_700_000_000.0  # a recorded time (a copy)
    before = time.time()
    assert api.ok("POST", f"{path}/heartbeat") is None  # no body: now, by the server's clock
    assert before <= api.ok("GET", path)["heartbeat_at"] <= time.time()
    # A time ahead of the server's clock counts as now: a client whose clock is
    # an hour ahead must not keep a dead run "running" for an hour.
    assert api.ok("POST", f"{path}/heartbeat", {"at": time.time() + 3600}) is None
    assert api.ok("GET", path)["heartbeat_at"] <= time.time()
    api.error(
        "POST",
        f"{path}/heartbeat",
        {"at": math.inf},
        status=400,
        code="INVALID_ARGUMENT",
        field="body.at",
    )


def test_params_summary_and_metadata(api: Any) -> None:
    run = api.run(config={"retriever": {"top_k": 5, "model": "bge"}})
    path = f"{API}/runs/{run['id']}"
    api.ok("PATCH", f"{path}/params", {"config": {"retriever": {"top_k": 10}, "x": -math.inf}})
    config = api.ok("GET", f"{path}/params")["config"]
    assert config["retriever"] == {"top_k": 10, "model": "bge"} and config["x"] == -math.inf
    api.ok("PATCH", f"{path}/summary", {"values": {"recall@10": 0.8}})
    assert api.ok("GET", path)["explicit_summary"] == {"recall@10": 0.8}
    api.ok("PATCH", f"{path}/metadata", {"metadata": {"gpu": "A100"}})
    api.ok("PATCH", f"{path}/metadata", {"metadata": {"host": "n1"}})
    assert api.ok("GET", f"{path}/metadata") == {"metadata": {"gpu": "A100", "host": "n1"}}
    api.error(
        "PATCH",
        f"{path}/params",
        {"config": "x"},
        status=400,
        code="INVALID_ARGUMENT",
        field="body.config",
    )
    api.error("PATCH", f"{path}/summary", {"values": {"": 1}}, status=400, code="INVALID_ARGUMENT")


def test_delete_run_deletes_its_artifacts(api: Any, artifact_store: Any) -> None:
    run = api.run()
    path = f"{API}/runs/{run['id']}"
    api.ok("PUT", f"{path}/artifacts/model/weights.bin", content=b"\x00\x01")
    assert api.ok("DELETE", path) is None
    api.error("GET", path, status=404, code="RUN_NOT_FOUND")
    assert artifact_store.list(run["id"]) == []
    api.error("DELETE", path, status=404, code="RUN_NOT_FOUND")


def test_a_filter_key_no_run_has_is_a_warning_in_the_search_response(api: Any) -> None:
    run = api.run(name="a", config={"chunker": {"size": 512}})
    api.ok("PATCH", f"{API}/runs/{run['id']}/summary", {"values": {"recall@10": 0.7}})
    params = {"project": "search", "filter": "metrics.recal@10 > 0.5"}
    found = api.ok("GET", f"{API}/runs", params=params)
    assert found["runs"] == []
    (warning,) = found["warnings"]
    assert warning["code"] == "UNKNOWN_KEY" and warning["field"] == "filter"
    assert warning["key"] == "metrics.recal@10"
    assert warning["suggestions"] == ["metrics.recall@10"]
    assert warning["message"] == "no run has metrics.recal@10; did you mean metrics.recall@10?"
    good = {"project": "search", "filter": "metrics.recall@10 > 0.5 and params.chunker.size = 512"}
    assert api.ok("GET", f"{API}/runs", params=good)["warnings"] == []


def test_run_groups_take_a_param_as_the_filter_language_names_it(api: Any) -> None:
    api.run(name="a", config={"chunker": {"size": 256}, "params": {"x": 1}})
    api.run(name="b", config={"chunker": {"size": 512}, "params": {"x": 2}})
    path = f"{API}/projects/search/run-groups"
    for group_by in ("chunker.size", "params.chunker.size", "params.`chunker.size`"):
        groups = api.ok("GET", path, params={"group_by": group_by})["groups"]
        assert [g["value"] for g in groups] == [256, 512], group_by
    # A config's own 'params' key is a raw key that exists: it wins.
    groups = api.ok("GET", path, params={"group_by": "params.x"})["groups"]
    assert [g["value"] for g in groups] == [1, 2]
    api.error(
        "GET",
        path,
        params={"group_by": "metrics.loss"},
        status=400,
        code="INVALID_ARGUMENT",
        field="group_by",
    )


def test_a_project_deleted_while_warnings_are_read_does_not_fail_the_search(
    store: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sqlalchemy as sa
    from fastapi.testclient import TestClient

    from ragtrack.server import create_app
    from ragtrack.storage.sql._schema import projects as projects_table

    store.create_run(project="kept", config={"x": 1})
    gone = store.create_run(project="gone", config={"y": 1})
    listed = store.list_projects

    def listed_then_deleted() -> Any:
        projects = listed()
        # Another client deletes the project right after the listing.
        store.delete_run(gone.id)
        with store._engine.begin() as conn:
            conn.execute(sa.delete(projects_table).where(projects_table.c.name == "gone"))
        return projects

    monkeypatch.setattr(store, "list_projects", listed_then_deleted)
    with TestClient(create_app(store)) as client:
        response = client.get(f"{API}/runs", params={"filter": "params.z = 1"})
    assert response.status_code == 200, response.text
    (warning,) = response.json()["warnings"]
    assert warning["key"] == "params.z"
    assert [r["project"] for r in response.json()["runs"]] == []


def test_warnings_over_every_project_read_a_bounded_number_of_them(
    store: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ragtrack.storage.filter import MAX_PROJECTS_READ

    for i in range(MAX_PROJECTS_READ + 1):
        store.create_project(f"p{i}")
    reads: list[str] = []
    read_keys = store.list_run_keys

    def counted(project: str, experiment: str | None = None) -> Any:
        reads.append(project)
        return read_keys(project, experiment)

    monkeypatch.setattr(store, "list_run_keys", counted)
    assert store.filter_warnings(None, "params.z = 1") == []
    assert reads == []
    assert [w.key for w in store.filter_warnings("p0", "params.z = 1")] == ["params.z"]
