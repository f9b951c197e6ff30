"""Filters and order-by compiled to SQL, run against an in-memory SQLite database."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from ragtrack.storage.filter import parse_filter, parse_order_by
from ragtrack.storage.sql import _schema as schema
from ragtrack.storage.sql._filter_compiler import filter_clause, order_clauses
from ragtrack.storage.sql._schema import experiments, params, projects, run_tags, runs, summaries

NOW = 1_700_000_000.0
STALE_BEFORE = NOW - 60.0
ALL = {"r1", "r2", "r3", "r4", "r5"}


def _run(
    id: str,
    project: int,
    experiment: int | None,
    name: str,
    status: str,
    times: tuple[float | None, float | None, float | None, float | None],
) -> dict[str, Any]:
    created, started, ended, heartbeat = (None if t is None else NOW + t for t in times)
    return {
        "id": id,
        "project_id": project,
        "experiment_id": experiment,
        "name": name,
        "status": status,
        "created_at": created,
        "started_at": started,
        "ended_at": ended,
        "heartbeat_at": heartbeat,
    }


def _summary(
    run: str, key: str, value: float | None, *, low: float = 0.0, count: int = 1
) -> dict[str, Any]:
    return {
        "run_id": run,
        "key": key,
        "value": value,
        "last": value,
        "min": low,
        "max": value,
        "n_points": count,
    }


def _param(run: str, key: str, text: str, number: float | None, kind: str) -> dict[str, Any]:
    return {"run_id": run, "key": key, "value_text": text, "value_num": number, "kind": kind}


@pytest.fixture(scope="module")
def engine() -> Iterator[sa.Engine]:
    engine = sa.create_engine("sqlite://")
    schema.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(
            projects.insert(),
            [
                {"id": 1, "name": "alpha", "created_at": NOW},
                {"id": 2, "name": "beta", "created_at": NOW},
            ],
        )
        conn.execute(
            experiments.insert(),
            [
                {"id": 1, "project_id": 1, "name": "baseline", "created_at": NOW},
                {"id": 2, "project_id": 1, "name": "ablation", "created_at": NOW},
            ],
        )
        conn.execute(
            runs.insert(),
            [
                # times relative to NOW: (created, started, ended, heartbeat)
                _run("r1", 1, 1, "bm25-top5", "completed", (-1000, -990, -900, None)),
                _run("r2", 1, 2, "dense-50%", "running", (-600, -500, None, 0)),
                # A running run whose heartbeat is an hour old: it counts as crashed.
                _run("r3", 1, None, "dense_v2", "running", (-4000, -4000, None, -3600)),
                _run("r4", 2, None, 'it\'s "quoted"', "failed", (-200, None, None, None)),
                _run("r5", 2, None, "queued\\run", "queued", (-50, None, None, None)),
            ],
        )
        conn.execute(
            params.insert(),
            [
                _param("r1", "lr", "0.01", 0.01, "num"),
                _param("r1", "retriever.top_k", "5", 5.0, "num"),
                _param("r1", "model", "bert-base", None, "str"),
                _param("r1", "flag", "true", 1.0, "bool"),
                _param("r1", "модель", "берт", None, "str"),
                _param("r2", "lr", "0.1", 0.1, "num"),
                _param("r2", "retriever.top_k", "10", 10.0, "num"),
                _param("r2", "model", "e5-large", None, "str"),
                _param("r2", "flag", "false", 0.0, "bool"),
                _param("r2", "opt", "null", None, "null"),
                _param("r2", "модель", "е5", None, "str"),
                _param("r3", "lr", "auto", None, "str"),
                _param("r3", "model", "BERT-large", None, "str"),
                # Strings whose text is that of JSON null and true.
                _param("r3", "opt", "null", None, "str"),
                _param("r4", "flag", "true", None, "str"),
                _param("r4", "lr", "0.001", 0.001, "num"),
            ],
        )
        conn.execute(
            summaries.insert(),
            [
                _summary("r1", "recall@10", 0.8, low=0.5, count=10),
                _summary("r1", "loss", 0.3),
                _summary("r2", "recall@10", 0.9, low=0.7, count=3),
                _summary("r2", "loss", 0.2),
                _summary("r3", "loss", None),  # the last value was NaN
                _summary("r4", "recall@10", 0.5, low=0.5),
                _summary("r4", "my key (v2)", 1.0),
                _summary("r4", "loss.min", 7.0),
            ],
        )
        conn.execute(
            run_tags.insert(),
            [
                {"run_id": "r1", "tag": "baseline"},
                {"run_id": "r1", "tag": "prod"},
                {"run_id": "r2", "tag": "dense"},
                {"run_id": "r2", "tag": "Prod-candidate"},
                {"run_id": "r4", "tag": "baseline"},
            ],
        )
    yield engine
    engine.dispose()


def _query(text: str, order: str | list[str] | None = None) -> sa.Select[Any]:
    query = sa.select(runs.c.id).select_from(
        runs.join(projects, runs.c.project_id == projects.c.id).outerjoin(
            experiments, runs.c.experiment_id == experiments.c.id
        )
    )
    expr = parse_filter(text)
    if expr is not None:
        query = query.where(filter_clause(expr, stale_before=STALE_BEFORE))
    keys = parse_order_by(order)
    return query.order_by(
        *order_clauses(keys, stale_before=STALE_BEFORE), runs.c.created_at.desc(), runs.c.id
    )


def ids(engine: sa.Engine, text: str) -> set[str]:
    with engine.connect() as conn:
        return set(conn.execute(_query(text)).scalars())


def ordered(engine: sa.Engine, order: str | list[str], text: str = "") -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(_query(text, order)).scalars())


CASES = [
    # params: numbers compare value_num, strings value_text
    ("params.lr < 0.05", {"r1", "r4"}),
    ("params.lr >= 0.01", {"r1", "r2"}),
    ("params.lr = 0.1", {"r2"}),
    ('params.lr = "auto"', {"r3"}),
    ('params.lr = "0.01"', {"r1"}),
    ("params.lr != 0.01", {"r2", "r3", "r4"}),  # only runs that have lr
    ("not params.lr = 0.01", ALL - {"r1"}),
    ("params.retriever.top_k in (5, 10)", {"r1", "r2"}),
    ("params.retriever.top_k not in (5)", {"r2"}),
    ('params.model in ("bert-base", 10)', {"r1"}),
    ('params.model not in ("bert-base")', {"r2", "r3"}),
    ("params.flag = true", {"r1"}),  # not r4's string "true"
    ("params.flag != true", {"r2", "r4"}),
    ("params.flag = 1", {"r1"}),
    ('params.flag = "true"', {"r4"}),
    ('params.flag in ("true", "false")', {"r4"}),
    ('params.flag != "true"', {"r1", "r2"}),
    ('params.model contains "BERT"', {"r1", "r3"}),
    ('params.model > "c"', {"r2"}),
    ("params.model is null", {"r4", "r5"}),
    ("params.model = null", {"r4", "r5"}),
    ("params.model is not null", {"r1", "r2", "r3"}),
    ("params.opt is null", ALL - {"r3"}),  # r2's JSON null counts as missing
    ("params.opt != null", {"r3"}),  # r3's string "null" is a value
    ('params.opt = "null"', {"r3"}),
    ('params.модель = "берт"', {"r1"}),
    ("params.`модель` is not null", {"r1", "r2"}),
    ("params.missing < 1", set()),
    # metrics: the summary value, or an aggregate column
    ("metrics.recall@10 > 0.7", {"r1", "r2"}),
    ("metrics.recall@10 != 0.8", {"r2", "r4"}),
    ("metrics.recall@10 in (0.5, 0.9)", {"r2", "r4"}),
    ("metrics.recall@10 not in (0.5)", {"r1", "r2"}),
    ("metrics.recall@10.min <= 0.5", {"r1", "r4"}),
    ("metrics.recall@10.max = 0.9", {"r2"}),
    ("metrics.recall@10.count >= 3", {"r1", "r2"}),
    ("metrics.recall@10 is null", {"r3", "r5"}),
    ("metrics.loss is null", {"r3", "r4", "r5"}),  # r3's loss is NaN
    ("metrics.loss is not null", {"r1", "r2"}),
    ("not metrics.loss < 0.25", ALL - {"r2"}),
    ("metrics.`my key (v2)` = 1", {"r4"}),
    ("metrics.`loss.min` = 7", {"r4"}),
    ("metrics.loss.min = 7", set()),
    ("metrics.loss < inf", {"r1", "r2"}),
    # status is the effective status
    ('status = "crashed"', {"r3"}),
    ('status = "running"', {"r2"}),
    ('status in ("running", "crashed")', {"r2", "r3"}),
    ('status != "completed"', ALL - {"r1"}),
    ('status not in ("queued", "failed")', {"r1", "r2", "r3"}),
    # tags
    ('tags = "baseline"', {"r1", "r4"}),
    ('tags != "baseline"', {"r2", "r3", "r5"}),
    ('tags in ("dense", "prod")', {"r1", "r2"}),
    ('tags not in ("dense", "prod")', {"r3", "r4", "r5"}),
    ('tags contains "PROD"', {"r1", "r2"}),
    ("tags is null", {"r3", "r5"}),
    ("tags is not null", {"r1", "r2", "r4"}),
    # plain columns
    ('name = "bm25-top5"', {"r1"}),
    ('name contains "50%"', {"r2"}),
    ('name contains "%"', {"r2"}),
    ('name contains "_"', {"r3"}),
    ('name contains "e_v"', {"r3"}),
    ('name contains "\\\\"', {"r5"}),
    ('name contains "DENSE"', {"r2", "r3"}),
    ("name = 'it\\'s \"quoted\"'", {"r4"}),
    ('name < "c"', {"r1"}),
    ('id = "r1"', {"r1"}),
    ('id in ("r1", "r5", "nope")', {"r1", "r5"}),
    ('id contains "R"', ALL),
    ('experiment = "baseline"', {"r1"}),
    ('experiment != "baseline"', {"r2"}),
    ('not experiment = "baseline"', ALL - {"r1"}),
    ("experiment is null", {"r3", "r4", "r5"}),
    ('experiment contains "line"', {"r1"}),
    ('project = "beta"', {"r4", "r5"}),
    ('project in ("alpha")', {"r1", "r2", "r3"}),
    (f"created > {NOW - 700}", {"r2", "r4", "r5"}),
    ('created < "2023-11-14T22:00:00Z"', {"r1", "r3"}),  # NOW is 22:13:20 UTC that day
    ("started is null", {"r4", "r5"}),
    (f"started > {NOW - 1000}", {"r1", "r2"}),
    (f"not started > {NOW - 1000}", {"r3", "r4", "r5"}),
    ("ended is not null", {"r1"}),
    ("duration < 100", {"r1"}),  # 90 s
    ("duration >= 400", {"r2", "r3"}),  # 500 s and 400 s, measured to the heartbeat
    ("duration is null", {"r4", "r5"}),
    ("not duration < 100", ALL - {"r1"}),
    # boolean structure
    ('tags = "baseline" or status = "running" and project = "beta"', {"r1", "r4"}),
    ('(tags = "baseline" or status = "running") and project = "alpha"', {"r1", "r2"}),
    ('not (tags = "baseline" or status = "queued")', {"r2", "r3"}),
    ("", ALL),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_filter_selects_runs(engine: sa.Engine, text: str, expected: set[str]) -> None:
    assert ids(engine, text) == expected


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_not_is_the_exact_complement(engine: sa.Engine, text: str, expected: set[str]) -> None:
    if text:
        assert ids(engine, f"not ({text})") == ALL - expected


@pytest.mark.parametrize(
    ("order", "expected"),
    [
        ("-metrics.recall@10", ["r2", "r1", "r4", "r5", "r3"]),
        ("metrics.recall@10", ["r4", "r1", "r2", "r5", "r3"]),
        ("metrics.recall@10.count desc", ["r1", "r2", "r4", "r5", "r3"]),
        ("params.lr", ["r4", "r1", "r2", "r3", "r5"]),  # numbers, then text, then missing
        ("-params.lr", ["r2", "r1", "r4", "r3", "r5"]),
        ("-params.модель", ["r2", "r1", "r5", "r4", "r3"]),
        ("name", ["r1", "r2", "r3", "r4", "r5"]),
        (["status", "-created"], ["r1", "r3", "r4", "r5", "r2"]),
        ("experiment, id", ["r2", "r1", "r3", "r4", "r5"]),
        ("-experiment", ["r1", "r2", "r5", "r4", "r3"]),
        ("-duration", ["r2", "r3", "r1", "r5", "r4"]),
        ("started", ["r3", "r1", "r2", "r5", "r4"]),
        ("-project, +id", ["r4", "r5", "r1", "r2", "r3"]),
        ("", ["r5", "r4", "r2", "r1", "r3"]),
    ],
)
def test_order_by(engine: sa.Engine, order: str | list[str], expected: list[str]) -> None:
    assert ordered(engine, order) == expected


def test_order_by_with_filter(engine: sa.Engine) -> None:
    assert ordered(engine, "-metrics.recall@10", 'project = "alpha"') == ["r2", "r1", "r3"]


INJECTIONS = [
    "name = \"x' OR '1'='1\"",
    "name = 'x\\' OR 1=1 --'",
    'name = "\'; DROP TABLE runs; --"',
    "params.`lr'; DROP TABLE params; --` = 1",
    'metrics.`x") OR 1=1 --` > 0',
    'tags in ("a\'); DELETE FROM run_tags; --")',
    "name contains \"%' OR '%'='\"",
    'id = "r1\\" OR \\"1\\"=\\"1"',
]


@pytest.mark.parametrize("text", INJECTIONS)
def test_sql_injection_matches_nothing_and_changes_nothing(engine: sa.Engine, text: str) -> None:
    assert ids(engine, text) == set()
    compiled = str(_query(text).compile(engine))
    assert "DROP" not in compiled and "DELETE" not in compiled and "'1'" not in compiled
    with engine.connect() as conn:
        for table, count in ((runs, 5), (params, 16), (summaries, 8), (run_tags, 5)):
            assert conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one() == count


def test_injection_in_order_by_key_is_bound(engine: sa.Engine) -> None:
    order = "-params.`lr); DROP TABLE runs; --`"
    assert "DROP" not in str(_query("", order).compile(engine))
    assert ordered(engine, order) == ["r5", "r4", "r2", "r1", "r3"]


def test_all_values_are_bound_parameters(engine: sa.Engine) -> None:
    query = _query(
        'params.lr < 0.123456 and name contains "needle" and status = "failed"', "-metrics.haystack"
    )
    compiled = query.compile(engine)
    sql = str(compiled)
    for value in ("0.123456", "needle", "failed", "haystack", "lr"):
        assert value not in sql
    assert {"lr", "%needle%", "failed", "haystack"} <= set(compiled.params.values())


def test_postgresql_rendering() -> None:
    from sqlalchemy.dialects.postgresql.base import PGDialect

    dialect = PGDialect()  # type: ignore[no-untyped-call]
    sql = str(_query('name contains "50%"', "-metrics.loss").compile(dialect=dialect))
    assert "ILIKE" in sql and "ESCAPE" in sql and "DESC NULLS LAST" in sql
