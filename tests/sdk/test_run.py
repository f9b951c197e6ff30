"""The live run: logging, config, summary, finishing, and what ends up stored."""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

import ragtrack
from ragtrack.exceptions import InvalidArgumentError, RunFinishedError

QUIET = {"system_metrics": False, "console": False, "git": False, "packages": False}


def test_three_line_integration_stores_everything(tmp_path: Path) -> None:
    run = ragtrack.init(
        project="rag-search",
        experiment="chunking",
        config={"chunk_size": 512, "retriever": {"top_k": 5}},
        tags=["baseline"],
        notes="first try",
        dir=tmp_path,
        capture=QUIET,
    )
    run.log({"loss": 0.42, "recall@10": 0.61}, step=100)
    run.log({"loss": 0.40})
    run.config.update({"lr": 3e-5})
    run.summary["best_recall@10"] = 0.64
    run.finish()

    stored = ragtrack.Api(dir=tmp_path).run(run.id)
    assert stored.status is ragtrack.RunStatus.COMPLETED
    assert (stored.project, stored.experiment, stored.notes) == (
        "rag-search",
        "chunking",
        "first try",
    )
    assert stored.params == {"chunk_size": 512, "retriever": {"top_k": 5}, "lr": 3e-5}
    assert stored.tags == ("baseline",)
    assert stored.summary == {"loss": 0.40, "recall@10": 0.61, "best_recall@10": 0.64}
    loss = stored.history("loss")
    assert loss.steps.tolist() == [100, 101]
    assert loss.values.tolist() == [0.42, 0.40]
    assert stored.duration is not None and stored.duration >= 0
    assert "environment" in stored.metadata and "hardware" in stored.metadata


def test_steps_auto_increment_from_the_last_explicit_step(tmp_path: Path) -> None:
    with ragtrack.init(project="p", dir=tmp_path, capture=QUIET) as run:
        run.log({"a": 1.0})
        run.log({"a": 2.0})
        run.log({"a": 3.0}, step=10)
        run.log({"a": 4.0})
        run.log({"a": 5.0}, step=np.int64(20))
    steps = ragtrack.Api(dir=tmp_path).run(run.id).history("a").steps.tolist()
    assert steps == [0, 1, 10, 11, 20]


def test_accepts_ints_bools_numpy_and_special_floats(tmp_path: Path) -> None:
    with ragtrack.init(project="p", dir=tmp_path, capture=QUIET) as run:
        run.log(
            {
                "int": 3,
                "bool": True,
                "np32": np.float32(0.5),
                "npint": np.int16(7),
                "zero_d": np.array(2.5),
                "frac": Fraction(1, 4),
                "nan": math.nan,
                "inf": -math.inf,
            }
        )
    api_run = ragtrack.Api(dir=tmp_path).run(run.id)
    got = {k: api_run.history(k).values[0] for k in api_run.metric_keys()}
    assert got["int"] == 3.0 and got["bool"] == 1.0 and got["np32"] == 0.5
    assert got["npint"] == 7.0 and got["zero_d"] == 2.5 and got["frac"] == 0.25
    assert math.isnan(got["nan"]) and got["inf"] == -math.inf


@pytest.mark.parametrize("value", ["0.5", None, [1.0], np.array([1.0, 2.0]), 1 + 2j, {"a": 1}])
def test_non_numeric_value_raises_type_error_naming_the_key(tmp_path: Path, value: object) -> None:
    with ragtrack.init(project="p", dir=tmp_path, capture=QUIET) as run:
        with pytest.raises(TypeError, match="'eval/score'"):
            run.log({"ok": 1.0, "eval/score": value})
        run.log({"ok": 2.0})
    # The rejected call logged nothing, not even its valid values, and used no step.
    history = ragtrack.Api(dir=tmp_path).run(run.id).history("ok")
    assert history.values.tolist() == [2.0] and history.steps.tolist() == [0]


@pytest.mark.parametrize("key", ["", " padded", "new\nline", "x" * 300])
def test_bad_key_is_rejected_with_the_reason(tmp_path: Path, key: str) -> None:
    with ragtrack.init(project="p", dir=tmp_path, capture=QUIET) as run:
        with pytest.raises(InvalidArgumentError, match="invalid metric key"):
            run.log({key: 1.0})


def test_huge_int_value_and_bad_step_are_rejected(tmp_path: Path) -> None:
    with ragtrack.init(project="p", dir=tmp_path, capture=QUIET) as run:
        with pytest.raises(InvalidArgumentError, match="too large"):
            run.log({"x": 10**400})
        with pytest.raises(TypeError, match="step"):
            run.log({"x": 1.0}, step=1.5)  # type: ignore[arg-type]
        with pytest.raises(InvalidArgumentError, match="64 bits"):
            run.log({"x": 1.0}, step=2**70)
        with pytest.raises(TypeError, match="dict"):
            run.log(3.0)  # type: ignore[arg-type]


def test_reused_dict_does_not_rewrite_logged_points(tmp_path: Path) -> None:
    metrics = {"loss": 0.0}
    with ragtrack.init(project="p", dir=tmp_path, capture=QUIET) as run:
        for i in range(5):
            metrics["loss"] = float(i)
            run.log(metrics)
    values = ragtrack.Api(dir=tmp_path).run(run.id).history("loss").values.tolist()
    assert values == [0.0, 1.0, 2.0, 3.0, 4.0]


def test_log_after_finish_raises(tmp_path: Path) -> None:
    run = ragtrack.init(project="p", dir=tmp_path, capture=QUIET)
    run.finish()
    run.finish()  # idempotent
    with pytest.raises(RunFinishedError):
        run.log({"x": 1.0})


def test_exception_in_with_block_marks_failed_with_traceback(tmp_path: Path) -> None:
    with pytest.raises(ZeroDivisionError):
        with ragtrack.init(project="p", dir=tmp_path, capture=QUIET) as run:
            run.log({"x": 1.0})
            1 / 0  # noqa: B018
    stored = ragtrack.Api(dir=tmp_path).run(run.id)
    assert stored.status is ragtrack.RunStatus.FAILED
    assert stored.error is not None and "ZeroDivisionError" in stored.error
    assert stored.history("x").values.tolist() == [1.0]


def test_keyboard_interrupt_marks_stopped(tmp_path: Path) -> None:
    with pytest.raises(KeyboardInterrupt):
        with ragtrack.init(project="p", dir=tmp_path, capture=QUIET) as run:
            raise KeyboardInterrupt
    assert ragtrack.Api(dir=tmp_path).run(run.id).status is ragtrack.RunStatus.STOPPED


def test_config_values_must_be_storable(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgumentError, match="'model'"):
        ragtrack.init(project="p", dir=tmp_path, capture=QUIET, config={"model": object()})
    with ragtrack.init(project="p", dir=tmp_path, capture=QUIET) as run:
        with pytest.raises(InvalidArgumentError, match="'obj'"):
            run.config["obj"] = object()
        run.config["ok"] = 1
        assert dict(run.config) == {"ok": 1}


def test_console_output_is_captured(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with ragtrack.init(project="p", dir=tmp_path, capture={"system_metrics": False}) as run:
        print("hello from training")
    assert "hello from training" in capsys.readouterr().out
    assert "hello from training" in ragtrack.Api(dir=tmp_path).run(run.id).logs()


def test_system_metrics_are_sampled(tmp_path: Path) -> None:
    capture = {"console": False, "system_metrics_interval": 0.05}
    with ragtrack.init(project="p", dir=tmp_path, capture=capture) as run:
        import time

        time.sleep(0.3)
    keys = ragtrack.Api(dir=tmp_path).run(run.id).metric_keys()
    assert "system/cpu_percent" in keys and "system/memory_percent" in keys


def test_current_run(tmp_path: Path) -> None:
    assert ragtrack.current_run() is None
    with ragtrack.init(project="p", dir=tmp_path, capture=QUIET) as run:
        assert ragtrack.current_run() is run
    assert ragtrack.current_run() is None


def test_ragtrack_dir_env_var(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAGTRACK_DIR", str(tmp_path / "store"))
    with ragtrack.init(project="p", capture=QUIET) as run:
        run.log({"x": 1.0})
    assert (tmp_path / "store" / "ragtrack.db").exists()
    assert ragtrack.Api().run(run.id).summary == {"x": 1.0}


class FakeTensor:
    """The parts of torch.Tensor that run.log relies on (torch is not a test
    dependency: it is several hundred megabytes)."""

    def __init__(self, *values: float) -> None:
        self.values = values

    def numel(self) -> int:
        return len(self.values)

    def size(self) -> tuple[int, ...]:
        return (len(self.values),)

    def item(self) -> float:
        if len(self.values) != 1:
            raise ValueError("only one element tensors can be converted to Python scalars")
        return self.values[0]


def test_one_element_tensors_are_logged_and_larger_ones_rejected(tmp_path: Path) -> None:
    with ragtrack.init(project="p", dir=tmp_path, capture=QUIET) as run:
        run.log({"loss": FakeTensor(0.25)})
        with pytest.raises(TypeError, match=r"'grad'.*FakeTensor"):
            run.log({"grad": FakeTensor(1.0, 2.0)})
    assert ragtrack.Api(dir=tmp_path).run(run.id).history("loss").values.tolist() == [0.25]
