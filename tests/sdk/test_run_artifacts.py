"""Run.log_artifact and the read side (ApiRun.artifacts, download_artifact) on
the embedded store; artifacts live in <dir>/artifacts/<run id>/."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

import ragtrack
from ragtrack.exceptions import (
    ArtifactNotFoundError,
    InvalidArgumentError,
    RunFinishedError,
)

QUIET = {"system_metrics": False, "console": False, "git": False, "packages": False}


@pytest.fixture(autouse=True)
def _no_artifact_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RAGTRACK_ARTIFACTS", raising=False)
    monkeypatch.delenv("RAGTRACK_URI", raising=False)


@pytest.fixture
def checkpoint(tmp_path: Path) -> Path:
    src = tmp_path / "work" / "checkpoint"
    (src / "tokenizer").mkdir(parents=True)
    (src / "config.json").write_text('{"dim": 768}')
    (src / "model.safetensors").write_bytes(os.urandom(300_000))
    (src / "tokenizer" / "vocab.txt").write_text("a\nb\n")
    return src


def test_log_a_file(tmp_path: Path) -> None:
    report = tmp_path / "report.md"
    report.write_text("# recall@10 = 0.61")
    store_dir = tmp_path / "store"
    with ragtrack.init(project="p", dir=store_dir, capture=QUIET) as run:
        (info,) = run.log_artifact(report)
        (named,) = run.log_artifact(str(report), name="eval/summary.md")
    assert (info.path, info.size) == ("report.md", report.stat().st_size)
    assert info.sha256 == hashlib.sha256(report.read_bytes()).hexdigest()
    assert named.path == "eval/summary.md"
    stored = store_dir / "artifacts" / run.id / "eval" / "summary.md"
    assert stored.read_bytes() == report.read_bytes()


def test_log_a_directory_recursively(tmp_path: Path, checkpoint: Path) -> None:
    with ragtrack.init(project="p", dir=tmp_path / "store", capture=QUIET) as run:
        infos = run.log_artifact(checkpoint)
        renamed = run.log_artifact(checkpoint / "tokenizer", name="best/tok")
    assert [i.path for i in infos] == [
        "checkpoint/config.json",
        "checkpoint/model.safetensors",
        "checkpoint/tokenizer/vocab.txt",
    ]
    assert [i.path for i in renamed] == ["best/tok/vocab.txt"]


def test_read_and_download_artifacts(tmp_path: Path, checkpoint: Path) -> None:
    with ragtrack.init(project="p", dir=tmp_path / "store", capture=QUIET) as run:
        run.log_artifact(checkpoint)
        run.log_artifact(checkpoint / "config.json")
    api = ragtrack.Api(dir=tmp_path / "store")
    stored = api.run(run.id)
    listed = stored.artifacts()
    assert [a.path for a in listed] == [
        "checkpoint/config.json",
        "checkpoint/model.safetensors",
        "checkpoint/tokenizer/vocab.txt",
        "config.json",
    ]
    assert all(a.sha256 is None and a.modified_at > 0 for a in listed)
    assert [a.path for a in stored.artifacts("checkpoint/t")] == ["checkpoint/tokenizer/vocab.txt"]

    out = tmp_path / "downloads"
    out.mkdir()
    weights = stored.download_artifact("checkpoint/model.safetensors", out)
    assert weights == out / "model.safetensors"
    assert weights.read_bytes() == (checkpoint / "model.safetensors").read_bytes()
    renamed = stored.download_artifact("config.json", out / "nested" / "cfg.json")
    assert renamed.read_text() == '{"dim": 768}'
    tree = stored.download_artifact("checkpoint", out)
    assert tree == out / "checkpoint"
    assert (tree / "tokenizer" / "vocab.txt").read_text() == "a\nb\n"
    assert sorted(p.name for p in out.iterdir()) == [
        "checkpoint",
        "model.safetensors",
        "nested",
    ]  # no temporary files left
    with pytest.raises(ArtifactNotFoundError, match=r"nope\.bin"):
        stored.download_artifact("nope.bin", out)


def test_a_missing_local_path_is_refused(tmp_path: Path) -> None:
    with ragtrack.init(project="p", dir=tmp_path / "store", capture=QUIET) as run:
        with pytest.raises(InvalidArgumentError, match="no such file or directory") as e:
            run.log_artifact(tmp_path / "missing.bin")
        assert e.value.field == "local_path"
    assert ragtrack.Api(dir=tmp_path / "store").run(run.id).artifacts() == []


def test_a_bad_name_is_refused_before_anything_is_stored(tmp_path: Path, checkpoint: Path) -> None:
    (checkpoint / "bad\\name.txt").write_text("x")
    with ragtrack.init(project="p", dir=tmp_path / "store", capture=QUIET) as run:
        with pytest.raises(InvalidArgumentError, match="backslash"):
            run.log_artifact(checkpoint)
        with pytest.raises(InvalidArgumentError, match=r"'\.\.' segment"):
            run.log_artifact(checkpoint / "config.json", name="../escape.json")
    assert ragtrack.Api(dir=tmp_path / "store").run(run.id).artifacts() == []


def test_no_artifacts_after_finish(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("x")
    run = ragtrack.init(project="p", dir=tmp_path / "store", capture=QUIET)
    run.finish()
    with pytest.raises(RunFinishedError, match="before calling finish"):
        run.log_artifact(tmp_path / "a.txt")


def test_deleting_a_run_deletes_its_artifacts(tmp_path: Path, checkpoint: Path) -> None:
    with ragtrack.init(project="p", dir=tmp_path / "store", capture=QUIET) as run:
        run.log_artifact(checkpoint)
    with ragtrack.init(project="p", dir=tmp_path / "store", capture=QUIET) as other:
        other.log_artifact(checkpoint / "config.json")
    api = ragtrack.Api(dir=tmp_path / "store")
    api.delete_run(run.id)
    root = tmp_path / "store" / "artifacts"
    assert sorted(p.name for p in root.iterdir()) == [other.id]
    assert [a.path for a in api.run(other.id).artifacts()] == ["config.json"]


def test_ragtrack_artifacts_moves_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, checkpoint: Path
) -> None:
    monkeypatch.setenv("RAGTRACK_ARTIFACTS", str(tmp_path / "elsewhere"))
    with ragtrack.init(project="p", dir=tmp_path / "store", capture=QUIET) as run:
        run.log_artifact(checkpoint / "config.json")
    assert (tmp_path / "elsewhere" / run.id / "config.json").exists()
    assert not (tmp_path / "store" / "artifacts").exists()


def test_links_leading_outside_a_logged_directory_are_skipped_with_a_warning(
    tmp_path: Path, checkpoint: Path, caplog: pytest.LogCaptureFixture
) -> None:
    secret = tmp_path / "home" / ".ssh" / "id_rsa"
    secret.parent.mkdir(parents=True)
    secret.write_text("PRIVATE KEY")
    (checkpoint / "key").symlink_to(secret)
    (checkpoint / "tokenizer" / "up").symlink_to(checkpoint.parent.parent / "home" / ".ssh")
    (checkpoint / "tokenizer" / "sneaky").symlink_to("../../../home/.ssh/id_rsa")
    (checkpoint / "config-link.json").symlink_to(checkpoint / "config.json")  # inside: kept
    with (
        caplog.at_level("WARNING", logger="ragtrack"),
        ragtrack.init(project="p", dir=tmp_path / "store", capture=QUIET) as run,
    ):
        infos = run.log_artifact(checkpoint)
    assert [i.path for i in infos] == [
        "checkpoint/config-link.json",
        "checkpoint/config.json",
        "checkpoint/model.safetensors",
        "checkpoint/tokenizer/vocab.txt",
    ]
    stored = tmp_path / "store" / "artifacts" / run.id
    files = [p for p in stored.rglob("*") if p.is_file()]
    assert len(files) == 4 and not any(b"PRIVATE KEY" in p.read_bytes() for p in files)
    assert [r.message for r in caplog.records] == [
        f"ragtrack: not uploading 2 symbolic links in {checkpoint} that lead outside it: "
        f"key, tokenizer/sneaky"
    ]
