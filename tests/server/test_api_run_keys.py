"""Keys and grouped metrics of a project's runs over HTTP: ``run-keys`` and ``run-groups``."""

from __future__ import annotations

import math
from typing import Any

API = "/api/v1"


def _runs(api: Any) -> None:
    for size, recall, experiment in [
        (512, 0.5, "a"),
        (512, 0.75, "a"),
        (512.0, 0.25, "b"),
        ("auto", math.nan, "b"),
        (None, 1.0, None),
    ]:
        config = {"chunker": {"size": size}} if size is not None else {"lr": 0.1}
        run = api.run(project="team/rag", experiment=experiment, config=config)
        api.ok("PATCH", f"{API}/runs/{run['id']}/summary", {"values": {"recall@10": recall}})


def test_run_keys(api: Any) -> None:
    _runs(api)
    api.run(project="other", config={"elsewhere": 1})
    path = f"{API}/projects/team%2Frag/run-keys"
    assert api.ok("GET", path) == {"params": ["chunker.size", "lr"], "metrics": ["recall@10"]}
    assert api.ok("GET", path, params={"experiment": "a"})["params"] == ["chunker.size"]
    api.error("GET", f"{API}/projects/nope/run-keys", status=404, code="PROJECT_NOT_FOUND")
    api.error("GET", path, params={"experiment": "nope"}, status=404, code="EXPERIMENT_NOT_FOUND")


def test_run_groups_keep_value_types(api: Any) -> None:
    _runs(api)
    body = api.ok(
        "GET",
        f"{API}/projects/team%2Frag/run-groups",
        params={"group_by": "chunker.size", "metric": ["recall@10", "latency"]},
    )
    groups = body["groups"]
    # JSON keeps 512 and 512.0 apart; runs without the param come last as null.
    assert [(g["value"], type(g["value"]).__name__, g["run_count"]) for g in groups] == [
        (512, "int", 2),
        (512.0, "float", 1),
        ("auto", "str", 1),
        (None, "NoneType", 1),
    ]
    assert groups[0]["metrics"] == {
        "recall@10": {"count": 2, "mean": 0.625, "min": 0.5, "max": 0.75},
        "latency": {"count": 0, "mean": None, "min": None, "max": None},
    }
    assert groups[2]["metrics"]["recall@10"]["count"] == 0  # NaN is left out


def test_run_groups_filter(api: Any) -> None:
    _runs(api)
    path = f"{API}/projects/team%2Frag/run-groups"
    query = {"group_by": "chunker.size", "metric": "recall@10", "filter": "experiment = 'a'"}
    groups = api.ok("GET", path, params=query)["groups"]
    assert [(g["value"], g["run_count"]) for g in groups] == [(512, 2)]
    # Without metrics, only the run counts.
    groups = api.ok("GET", path, params={"group_by": "lr"})["groups"]
    assert [(g["value"], g["run_count"], g["metrics"]) for g in groups] == [
        (0.1, 1, {}),
        (None, 4, {}),
    ]


def test_run_groups_errors(api: Any) -> None:
    _runs(api)
    path = f"{API}/projects/team%2Frag/run-groups"
    api.error(
        "GET",
        path,
        params={"group_by": "k", "filter": "params.lr <"},
        status=400,
        code="INVALID_FILTER",
        field="filter",
    )
    api.error("GET", path, status=400, code="INVALID_ARGUMENT", field="query.group_by")
    api.error(
        "GET", path, params={"group_by": ""}, status=400, code="INVALID_ARGUMENT", field="group_by"
    )
    too_many = {"group_by": "k", "metric": [f"m{i}" for i in range(51)]}
    api.error("GET", path, params=too_many, status=400, code="INVALID_ARGUMENT", field="metrics")
    api.error(
        "GET",
        f"{API}/projects/nope/run-groups",
        params={"group_by": "k"},
        status=404,
        code="PROJECT_NOT_FOUND",
    )


def test_run_groups_refuse_a_malformed_group_by_and_warn_of_an_unknown_one(api: Any) -> None:
    _runs(api)
    path = f"{API}/projects/team%2Frag/run-groups"
    for group_by, problem in [
        ("-params.chunker.size", "has a direction"),
        ("params.chunker.size desc", "has a direction"),
        ("metrics.", "is not a param reference"),
        ("metrics.recall@10", "is a metric"),
    ]:
        message = api.error(
            "GET",
            path,
            params={"group_by": group_by},
            status=400,
            code="INVALID_ARGUMENT",
            field="group_by",
        )
        assert problem in message, (group_by, message)
    for group_by in ("params.chunker.sise", "chunker.sise"):
        found = api.ok("GET", path, params={"group_by": group_by})
        (warning,) = found["warnings"]
        assert warning["code"] == "UNKNOWN_KEY" and warning["field"] == "group_by"
        assert warning["message"] == (
            "no run has params.chunker.sise; did you mean params.chunker.size?"
        )
    assert api.ok("GET", path, params={"group_by": "chunker.size"})["warnings"] == []
