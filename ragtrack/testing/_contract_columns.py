"""The Store contract for :meth:`Store.search_columns`: the runs of a search as
numpy columns. Part of :class:`~ragtrack.testing.store_contract.StoreContract`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from ragtrack.entities import MetricSeries, RunStatus
from ragtrack.exceptions import InvalidArgumentError, InvalidFilterError, ProjectNotFoundError
from ragtrack.storage import Store


def _series(values: list[float]) -> MetricSeries:
    return MetricSeries.from_lists(list(range(len(values))), values, [1e9] * len(values))


class RunColumnsContract:
    """Columns hold what the records of the same search hold, in the same order."""

    def test_columns_match_the_records_of_the_same_search(self, store: Store) -> None:
        configs: list[dict[str, Any]] = [
            {"lr": 0.1, "model": {"name": "bge", "dim": 384}, "flag": True, "note": None},
            {"lr": 1, "model": {"name": "e5"}, "flag": "yes", "a.b": 5, "huge": 10**400},
            {"model": {"name": "bge", "dim": 768}, "stops": [1, 2], "empty": {}},
        ]
        ids = []
        for i, config in enumerate(configs):
            run = store.create_run(
                project="p", experiment="e" if i else None, config=config, created_at=1e9 + i
            )
            ids.append(run.id)
        store.log_metrics(ids[0], {"loss": _series([3.0, 2.0, 1.0])})
        store.finish_run(ids[1], status=RunStatus.COMPLETED, summary={"loss": 0.5, "best": "ckpt"})
        store.log_metrics(ids[2], {"loss": _series([1.0, math.inf, math.nan])})
        store.create_run(project="other", config={"lr": 7.0})

        cols = store.search_columns("p", order_by="created")
        records = store.search_runs("p", order_by="created")
        assert list(cols["id"]) == [r.id for r in records] == ids
        assert list(cols["experiment"]) == [None, "e", "e"]
        assert list(cols["status"]) == [r.status.value for r in records]
        assert cols["created_at"].tolist() == [1e9, 1e9 + 1, 1e9 + 2]
        assert math.isnan(cols["ended_at"][0]) and cols["ended_at"][1] > 0
        # Numeric params are float64 with NaN for "missing"; others keep their values.
        assert cols["params.lr"].dtype == np.float64
        assert cols["params.lr"][:2].tolist() == [0.1, 1.0] and math.isnan(cols["params.lr"][2])
        assert cols["params.model.dim"].tolist()[::2] == [384.0, 768.0]
        assert cols["params.model.name"].tolist() == ["bge", "e5", "bge"]
        assert cols["params.flag"].tolist() == [True, "yes", None]
        assert cols["params.a.b"].tolist()[1] == 5
        assert cols["params.huge"].tolist() == [None, 10**400, None]
        assert cols["params.stops"].tolist()[2] == [1, 2]
        assert cols["params.empty"].tolist()[2] == {}
        assert "params.note" in cols and math.isnan(cols["params.note"][0])  # JSON null
        # A metric is the summary value when it is a number, else NaN.
        assert cols["metrics.loss"].dtype == np.float64
        assert cols["metrics.loss"][:2].tolist() == [1.0, 0.5] and math.isnan(
            cols["metrics.loss"][2]
        )
        assert math.isnan(cols["metrics.best"][1])
        assert len({len(c) for c in cols.values()}) == 1

    def test_columns_of_a_filtered_page_with_chosen_keys(self, store: Store) -> None:
        for i in range(6):
            run = store.create_run(project="p", config={"i": i, "skip": "x"})
            store.set_summary(run.id, {"recall": i / 10})
        cols = store.search_columns(
            "p",
            "metrics.recall >= 0.2",
            "-metrics.recall",
            limit=3,
            offset=1,
            params=["i", "absent"],
            metrics=["recall"],
        )
        assert sorted(cols) == sorted(
            [
                "id",
                "name",
                "experiment",
                "status",
                "created_at",
                "started_at",
                "ended_at",
                "params.i",
                "params.absent",
                "metrics.recall",
            ]
        )
        assert cols["params.i"].tolist() == [4.0, 3.0, 2.0]
        assert cols["metrics.recall"].tolist() == [4 / 10, 3 / 10, 2 / 10]
        assert np.isnan(cols["params.absent"]).all()
        empty = store.search_columns("p", "params.i > 100")
        assert all(len(c) == 0 for c in empty.values()) and "params.skip" in empty

    def test_columns_arguments_are_checked(self, store: Store) -> None:
        store.create_run(project="p")
        with pytest.raises(ProjectNotFoundError):
            store.search_columns("nope")
        with pytest.raises(ProjectNotFoundError):
            store.search_columns("nope", params=[], metrics=[])
        with pytest.raises(InvalidFilterError):
            store.search_columns("p", "params.lr <")
        for bad in ("lr", [""], ["a\nb"]):
            with pytest.raises(InvalidArgumentError) as info:
                store.search_columns("p", params=bad)
            assert info.value.field == "params"
        with pytest.raises(InvalidArgumentError) as info:
            store.search_columns("p", metrics="loss")
        assert info.value.field == "metrics"
