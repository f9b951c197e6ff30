"""``@ragtrack.track``: arguments become params, a returned dict becomes metrics."""

from __future__ import annotations

from pathlib import Path

import pytest

import ragtrack

QUIET = {"system_metrics": False, "console": False, "git": False, "packages": False}


def test_call_becomes_a_run(tmp_path: Path) -> None:
    @ragtrack.track(project="rag-search", dir=tmp_path, capture=QUIET)
    def train(lr: float = 1e-3, epochs: int = 3, **extra: object) -> dict[str, object]:
        run = ragtrack.current_run()
        assert run is not None
        run.log({"loss": 0.5})
        return {"recall@10": 0.61, "note": "text is not a metric"}

    assert train(0.01, warmup=True) == {"recall@10": 0.61, "note": "text is not a metric"}
    (stored,) = ragtrack.Api(dir=tmp_path).runs("rag-search")
    assert stored.params == {"lr": 0.01, "epochs": 3, "warmup": True}
    assert stored.summary == {"loss": 0.5, "recall@10": 0.61}
    assert stored.status is ragtrack.RunStatus.COMPLETED


def test_exception_fails_the_run_and_propagates(tmp_path: Path) -> None:
    @ragtrack.track(project="p", dir=tmp_path, capture=QUIET)
    def broken() -> None:
        raise ValueError("bad data")

    with pytest.raises(ValueError, match="bad data"):
        broken()
    (stored,) = ragtrack.Api(dir=tmp_path).runs("p")
    assert stored.status is ragtrack.RunStatus.FAILED
    assert stored.error is not None and "ValueError: bad data" in stored.error


def test_unserialisable_arguments_are_recorded_by_repr(tmp_path: Path) -> None:
    class Dataset:
        def __repr__(self) -> str:
            return "Dataset(n=3)"

    @ragtrack.track(project="p", dir=tmp_path, capture=QUIET)
    def evaluate(data: Dataset, k: int = 5) -> None:
        return None

    evaluate(Dataset())
    (stored,) = ragtrack.Api(dir=tmp_path).runs("p")
    assert stored.params == {"data": "Dataset(n=3)", "k": 5}


def test_bare_decorator_uses_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAGTRACK_DIR", str(tmp_path))
    monkeypatch.setenv("RAGTRACK_CAPTURE_GIT", "0")

    @ragtrack.track
    def job(x: int = 1) -> dict[str, float]:
        return {"y": x * 2.0}

    assert job.__name__ == "job"
    job(4)
    (stored,) = ragtrack.Api().runs("default")
    assert stored.summary == {"y": 8.0}
