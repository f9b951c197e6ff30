"""``Api.runs_columns`` and ``Api.runs_frame``: search results as numpy columns
and as a pandas DataFrame, for analysis code."""

from __future__ import annotations

import doctest
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import ragtrack


def _sweep(path: Path) -> None:
    for i, size in enumerate([256, 512, 512, 1024]):
        run = ragtrack.init(
            project="rag",
            config={"chunker": {"size": size}, "lr": 0.1 * i},
            dir=path,
            capture=False,
        )
        run.log({"recall@10": size / 2048})
        run.finish()


def test_runs_columns_are_numpy_arrays_in_search_order(tmp_path: Path) -> None:
    _sweep(tmp_path)
    api = ragtrack.Api(dir=tmp_path)
    cols = api.runs_columns("rag", "params.chunker.size >= 512", "-metrics.recall@10")
    records = api.runs("rag", "params.chunker.size >= 512", "-metrics.recall@10")
    assert cols["id"].tolist() == [r.id for r in records]
    assert cols["params.chunker.size"].tolist() == [1024.0, 512.0, 512.0]
    assert cols["metrics.recall@10"].dtype == np.float64
    assert cols["status"].tolist() == ["completed"] * 3
    api.close()


def test_runs_frame_groups_like_any_dataframe(tmp_path: Path) -> None:
    _sweep(tmp_path)
    api = ragtrack.Api(dir=tmp_path)
    df = api.runs_frame("rag", metrics=["recall@10"], params=["chunker.size"])
    assert isinstance(df, pd.DataFrame) and len(df) == 4
    means = df.groupby("params.chunker.size")["metrics.recall@10"].mean()
    assert means.to_dict() == {256.0: 0.125, 512.0: 0.25, 1024.0: 0.5}
    api.close()


def test_runs_frame_without_pandas_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _sweep(tmp_path)
    monkeypatch.setitem(sys.modules, "pandas", None)  # makes `import pandas` fail
    api = ragtrack.Api(dir=tmp_path)
    with pytest.raises(ImportError, match="pip install pandas"):
        api.runs_frame("rag")
    assert len(api.runs_columns("rag")["id"]) == 4
    api.close()


def test_the_documented_example_runs() -> None:
    finder = doctest.DocTestFinder()
    (example,) = finder.find(ragtrack.Api.runs_columns, globs={"Api": ragtrack.Api})
    result = doctest.DocTestRunner().run(example)
    assert result.attempted == 5 and result.failed == 0
