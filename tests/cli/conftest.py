"""Fixtures for the CLI tests: a runner bound to a store directory, and known runs in it.

Fixtures rather than importable helpers: test modules here are not a package,
so importing this file by name would load it a second time.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

import ragtrack
from ragtrack.cli import cli
from ragtrack.storage import open_store


@pytest.fixture
def ragtrack_cli(tmp_path: Path) -> Callable[..., Result]:
    """Run ``ragtrack --dir tmp_path ARGS`` in process: ``ragtrack_cli("runs", "list")``."""

    def invoke(*args: str, input: str | None = None) -> Result:
        return CliRunner().invoke(cli, ["--dir", str(tmp_path), *args], input=input)

    return invoke


@pytest.fixture
def run_ids(tmp_path: Path) -> dict[str, str]:
    """Log four runs in two projects to ``tmp_path``; their ids by name.

    ``alpha`` and ``beta`` (project ``search``, experiment ``chunking``) complete
    with metrics; ``gamma`` (``search``, no experiment) fails; ``delta`` is alone
    in project ``other`` and logs a system metric and a NaN.
    """
    ids: dict[str, str] = {}
    common: dict[str, Any] = {"dir": tmp_path, "capture": False}
    with ragtrack.init(
        project="search",
        experiment="chunking",
        name="alpha",
        config={"retriever": {"top_k": 5, "model": "bge"}, "lr": 0.01},
        tags=["baseline"],
        notes="first try",
        **common,
    ) as run:
        for step in range(10):
            run.log({"train/loss": 1.0 - step * 0.05}, step=step)
        run.log({"recall@10": 0.512345, "ndcg@10": 0.41}, step=10)
    ids["alpha"] = run.id
    with ragtrack.init(
        project="search",
        experiment="chunking",
        name="beta",
        config={"retriever": {"top_k": 10, "model": "e5"}, "lr": 0.001},
        tags=["candidate"],
        **common,
    ) as run:
        for step in range(10):
            run.log({"train/loss": 0.9 - step * 0.05}, step=step)
        run.log({"recall@10": 0.712345, "ndcg@10": 0.63}, step=10)
        run.summary["checkpoint"] = "beta-final"
    ids["beta"] = run.id
    try:
        with ragtrack.init(project="search", name="gamma", config={"lr": 0.1}, **common) as run:
            run.log({"train/loss": 2.5}, step=0)
            raise ValueError("loss exploded")
    except ValueError:
        pass
    ids["gamma"] = run.id
    with ragtrack.init(project="other", name="delta", **common) as run:
        run.log({"acc": float("nan"), "system/cpu_percent": 12.0}, step=0)
        run.log({"acc": float("inf")}, step=1)
    ids["delta"] = run.id
    with open_store(dir=tmp_path) as s:
        s.append_logs(ids["alpha"], "stdout", "epoch 1\n")
        s.append_logs(ids["alpha"], "stderr", "warning: slow\n")
        s.append_logs(ids["alpha"], "stdout", "epoch 2\n")
    return ids
