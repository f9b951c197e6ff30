"""``list_run_keys`` and ``aggregate_runs``: the base class's default (derived
from ``search_runs``) passes the contract, and the SQL store's queries give
what the default gives on mixed data, on SQLite and PostgreSQL."""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from ragtrack.entities import RunGroup, RunKeys
from ragtrack.storage import Store
from ragtrack.storage.sql import SqlStore
from ragtrack.testing._contract_aggregates import RunAggregatesContract


class DerivedAggregatesStore(SqlStore):
    """A SQL store answering with the base class's defaults, as a backend
    without its own implementation would."""

    def list_run_keys(self, project: str, experiment: str | None = None) -> RunKeys:
        return Store.list_run_keys(self, project, experiment)

    def aggregate_runs(
        self, project: str, group_by: str, metrics: Sequence[str], filter: str | None = None
    ) -> list[RunGroup]:
        return Store.aggregate_runs(self, project, group_by, metrics, filter)


class TestDefaultImplementation(RunAggregatesContract):
    @pytest.fixture
    def store(self) -> Iterator[Store]:
        s = DerivedAggregatesStore("sqlite://")
        yield s
        s.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def sql_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlStore]:
    if request.param == "postgresql":
        yield request.getfixturevalue("postgres_store")
        return
    store = SqlStore(f"sqlite:///{tmp_path / 'ragtrack.db'}")
    yield store
    store.close()


_VALUES: list[Any] = [
    1,
    2,
    2.0,
    0.5,
    -1e300,
    True,
    False,
    "a",
    "b",
    "2",
    "nan",
    math.nan,
    math.inf,
    [1],
    "[1]",
    {},
    None,
]


def _summary_value(rng: random.Random) -> Any:
    return rng.choice([rng.random(), rng.uniform(-1e6, 1e6), math.nan, math.inf, "x", True, 7])


def test_sql_queries_agree_with_the_default(sql_store: SqlStore) -> None:
    rng = random.Random(4)
    for i in range(120):
        config: dict[str, Any] = {"g": rng.choice(_VALUES), "h": {"k": rng.choice(_VALUES)}}
        if i % 7 == 0:
            del config["g"]
        run = sql_store.create_run(
            project="p", experiment=rng.choice(["e1", "e2", None]), config=config
        )
        summary = {f"m{j}": _summary_value(rng) for j in range(4) if rng.random() < 0.7}
        sql_store.set_summary(run.id, summary)
    sql_store.create_run(project="q", config={"g": 1, "only_q": 1})
    for group_by in ["g", "h.k", "h", "absent"]:
        for filter in [None, "params.h.k > 0.5", "experiment = 'e1' or metrics.m0 < 0.5"]:
            metrics = ["m0", "m1", "m3", "m9"]
            got = sql_store.aggregate_runs("p", group_by, metrics, filter)
            expected = Store.aggregate_runs(sql_store, "p", group_by, metrics, filter)
            assert _comparable(got, approx=True) == _comparable(expected), (group_by, filter)
    for experiment in [None, "e1", "e2"]:
        assert sql_store.list_run_keys("p", experiment) == Store.list_run_keys(
            sql_store, "p", experiment
        )


def _comparable(groups: list[RunGroup], approx: bool = False) -> list[tuple[Any, ...]]:
    """Groups with NaN values made equal, and with ``approx`` means that may
    differ in the last bits (SQL sums in its own order)."""
    out = []
    for g in groups:
        value = "NaN" if isinstance(g.value, float) and math.isnan(g.value) else g.value
        stats = [
            (
                k,
                a.count,
                pytest.approx(a.mean, rel=1e-12) if approx and a.count else a.mean,
                a.min,
                a.max,
            )
            for k, a in g.metrics.items()
        ]
        out.append((type(g.value).__name__, value, g.run_count, stats))
    return out
