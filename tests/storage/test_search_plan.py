"""The index-driven search plan must return exactly what the plain plan returns."""

from __future__ import annotations

import math
import random
from collections.abc import Iterator

import pytest

from ragtrack.entities import MetricSeries
from ragtrack.storage import Store, open_store
from ragtrack.storage.filter import parse_filter, parse_order_by
from ragtrack.storage.sql import _search_plan


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    rng = random.Random(7)
    s = open_store(dir=tmp_path_factory.mktemp("plan"))
    for i in range(80):
        run = s.create_run(project="p", config={"lr": rng.choice([1e-4, 1e-3, 1e-2]), "i": i})
        batch = {}
        if i % 7:  # some runs never log recall
            # Ties (rounded values) and NaN make ordering and NULL handling matter.
            value = math.nan if i % 11 == 0 else round(rng.random(), 1)
            batch["recall"] = MetricSeries.from_lists([0], [value], [1.7e9])
        if i % 3:
            batch["loss"] = MetricSeries.from_lists([0], [rng.random()], [1.7e9])
        if batch:
            s.log_metrics(run.id, batch)
        if i % 13 == 0:
            s.set_summary(run.id, {"recall": "not a number"})
    s.create_run(project="other", config={"lr": 1e-3})
    yield s
    s.close()


FILTERS = [
    "metrics.recall > 0.3",
    "metrics.recall >= 0.5 and params.lr < 0.005",
    "params.lr = 0.001 and metrics.recall < 0.9",
    "metrics.recall in (0.1, 0.5, 0.7) and metrics.loss > 0.2",
    "metrics.recall not in (0.5) and (params.i < 40 or metrics.loss < 0.5)",
    "metrics.recall is not null",
    "metrics.recall != 0.5 and not (metrics.recall > 0.8)",
    "metrics.recall > 0.2 and (metrics.recall < 0.6 or params.i > 70)",
    "metrics.recall > 0.2 and metrics.recall is null",
    "metrics.recall.max > 0.2",  # an aggregate: not driven
    "params.lr < 0.01",  # no condition on the order metric: not driven
]
ORDERS = ["-metrics.recall", "metrics.recall", "-metrics.recall, params.i", "metrics.recall, -name"]


@pytest.mark.parametrize("text", FILTERS)
@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize(("limit", "offset"), [(None, 0), (5, 0), (7, 3)])
def test_driving_plan_matches_plain_plan(
    store: Store,
    monkeypatch: pytest.MonkeyPatch,
    text: str,
    order: str,
    limit: int | None,
    offset: int,
) -> None:
    fast = [r.id for r in store.search_runs("p", text, order, limit, offset)]
    monkeypatch.setattr(_search_plan, "driving_metric", lambda expr, keys: None)
    plain = [r.id for r in store.search_runs("p", text, order, limit, offset)]
    assert fast == plain
    assert store.count_runs("p", text) >= len(plain)


def test_driving_plan_is_used_only_when_the_filter_requires_the_metric() -> None:
    keys = parse_order_by("-metrics.recall")
    assert _search_plan.driving_metric(parse_filter("metrics.recall > 0.5"), keys) == "recall"
    assert _search_plan.driving_metric(parse_filter("metrics.recall is not null"), keys)
    assert _search_plan.driving_metric(parse_filter("metrics.recall is null"), keys) is None
    assert _search_plan.driving_metric(parse_filter("not metrics.recall > 0.5"), keys) is None
    either = parse_filter("metrics.recall > 0 or name = 'x'")
    assert _search_plan.driving_metric(either, keys) is None
    assert _search_plan.driving_metric(parse_filter("metrics.loss > 0.5"), keys) is None
    assert _search_plan.driving_metric(None, keys) is None
    min_keys = parse_order_by("-metrics.recall.min")
    assert _search_plan.driving_metric(parse_filter("metrics.recall > 0.5"), min_keys) is None
