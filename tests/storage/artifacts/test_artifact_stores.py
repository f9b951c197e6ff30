"""The artifact store contract on the local directory and fsspec backends, plus
what only one backend can show (symbolic links, file modes, staged uploads)."""

from __future__ import annotations

import io
import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO, cast

import pytest

from ragtrack.exceptions import InvalidArgumentError, StoreError
from ragtrack.storage.artifacts import (
    ArtifactStore,
    FsspecArtifactStore,
    LocalArtifactStore,
    _fsspec,
)
from ragtrack.testing.artifact_contract import RUN, ArtifactStoreContract, RecordingReader, payload

fsspec = pytest.importorskip("fsspec")


class TestLocalArtifactStore(ArtifactStoreContract):
    @pytest.fixture
    def artifact_store(self, tmp_path: Path) -> ArtifactStore:
        return LocalArtifactStore(tmp_path / "artifacts")

    def stored_names(self, store: ArtifactStore) -> list[str]:
        root = cast(LocalArtifactStore, store).root
        return sorted(
            str(Path(d, f).relative_to(root)) for d, _, files in os.walk(root) for f in files
        )


class TestFsspecMemoryArtifactStore(ArtifactStoreContract):
    @pytest.fixture
    def artifact_store(self) -> Iterator[ArtifactStore]:
        url = f"memory://ragtrack-test-{uuid.uuid4().hex}"
        yield FsspecArtifactStore(url)
        fs, root = fsspec.core.url_to_fs(url)
        if fs.exists(root):
            fs.rm(root, recursive=True)

    def stored_names(self, store: ArtifactStore) -> list[str]:
        fs, root = fsspec.core.url_to_fs(cast(FsspecArtifactStore, store).url)
        return sorted(fs.find(root))


# -- the local store ----------------------------------------------------------------------


def test_symlinks_may_not_lead_out_of_the_run(tmp_path: Path) -> None:
    store = LocalArtifactStore(tmp_path / "artifacts")
    store.put(RUN, "inside.txt", io.BytesIO(b"in"))
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_bytes(b"secret")
    run_dir = tmp_path / "artifacts" / RUN
    (run_dir / "escape").symlink_to(outside, target_is_directory=True)
    (run_dir / "secret-link.txt").symlink_to(outside / "secret.txt")
    (run_dir / "alias.txt").symlink_to(run_dir / "inside.txt")  # stays inside: fine
    for path in ["escape/secret.txt", "secret-link.txt"]:
        for call in (store.open, store.info, store.delete):
            with pytest.raises(InvalidArgumentError, match="symbolic link") as e:
                call(RUN, path)
            assert e.value.field == "path"
    with pytest.raises(InvalidArgumentError, match="symbolic link"):
        store.put(RUN, "escape/planted.txt", io.BytesIO(b"x"))
    assert not (outside / "planted.txt").exists()
    assert [a.path for a in store.list(RUN)] == ["alias.txt", "inside.txt"]
    assert store.list(RUN, "escape/") == []
    with store.open(RUN, "alias.txt") as f:
        assert f.read() == b"in"
    store.delete_run(RUN)
    assert (outside / "secret.txt").read_bytes() == b"secret"


def test_a_run_directory_that_is_a_symlink_is_refused(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "artifacts").mkdir()
    (tmp_path / "artifacts" / RUN).symlink_to(elsewhere, target_is_directory=True)
    store = LocalArtifactStore(tmp_path / "artifacts")
    with pytest.raises(InvalidArgumentError, match="symbolic link"):
        store.put(RUN, "a.txt", io.BytesIO(b"x"))
    assert list(elsewhere.iterdir()) == []
    store.delete_run(RUN)  # removes the link, not what it points to
    assert elsewhere.exists() and not (tmp_path / "artifacts" / RUN).exists()


def test_a_root_reached_through_a_symlink_works(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real", target_is_directory=True)
    store = LocalArtifactStore(tmp_path / "link")
    store.put(RUN, "a/b.txt", io.BytesIO(b"x"))
    assert (tmp_path / "real" / RUN / "a" / "b.txt").read_bytes() == b"x"


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX file modes")
def test_files_get_the_usual_mode(tmp_path: Path) -> None:
    store = LocalArtifactStore(tmp_path)
    store.put(RUN, "report.html", io.BytesIO(b"<html>"))
    umask = os.umask(0)
    os.umask(umask)
    assert (tmp_path / RUN / "report.html").stat().st_mode & 0o777 == 0o666 & ~umask


def test_nothing_is_created_before_the_first_upload(tmp_path: Path) -> None:
    store = LocalArtifactStore(tmp_path / "artifacts")
    assert store.list(RUN) == []
    store.delete_run(RUN)
    assert not (tmp_path / "artifacts").exists()


def test_uploads_in_progress_are_not_listed(tmp_path: Path) -> None:
    store = LocalArtifactStore(tmp_path)
    store.put(RUN, "a.txt", io.BytesIO(b"x"))
    (tmp_path / RUN / ".ragtrack-upload-0123").write_bytes(b"half")
    assert [a.path for a in store.list(RUN)] == ["a.txt"]


def test_a_failed_upload_keeps_directories_that_existed(tmp_path: Path) -> None:
    store = LocalArtifactStore(tmp_path)
    store.put(RUN, "keep/a.txt", io.BytesIO(b"x"))
    with pytest.raises(ConnectionResetError):
        store.put(RUN, "keep/new/b.bin", cast(BinaryIO, RecordingReader(b"y" * 10, fail_after=0)))
    assert sorted(p.name for p in (tmp_path / RUN / "keep").iterdir()) == ["a.txt"]


def test_disk_errors_are_store_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = LocalArtifactStore(tmp_path)

    def full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(StoreError, match="No space left"):
        store.put(RUN, "big.bin", io.BytesIO(b"x" * 1000))
    monkeypatch.undo()
    assert store.list(RUN) == [] and not (tmp_path / RUN).exists()


def test_errors_of_the_source_pass_through(tmp_path: Path) -> None:
    store = LocalArtifactStore(tmp_path)
    with pytest.raises(ConnectionResetError):
        store.put(RUN, "a.bin", cast(BinaryIO, RecordingReader(b"y" * 10, fail_after=0)))


# -- the fsspec store ---------------------------------------------------------------------


def test_a_missing_fsspec_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "fsspec", None)
    with pytest.raises(StoreError, match=r"pip install 'ragtrack\[s3\]'.*pip install fsspec"):
        FsspecArtifactStore("s3://bucket/prefix")


def test_an_unknown_protocol_is_a_store_error() -> None:
    with pytest.raises(StoreError, match="nosuchfs://x"):
        FsspecArtifactStore("nosuchfs://x")


@pytest.fixture
def staged_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FsspecArtifactStore:
    """An fsspec store taking the object-store path (``autocommit=False`` writers,
    committed at the end), on the local file system, whose writers honour it."""
    monkeypatch.setattr(_fsspec, "STAGED_PROTOCOLS", frozenset({"file", "local"}))
    store = FsspecArtifactStore(f"file://{tmp_path}/bucket")
    (tmp_path / "bucket" / RUN).mkdir(parents=True)  # local writers do not make parents
    return store


def test_staged_uploads_commit_at_the_end(staged_store: FsspecArtifactStore) -> None:
    data = payload(3 * 1024 * 1024)
    source = RecordingReader(data)
    info = staged_store.put(RUN, "model.bin", cast(BinaryIO, source))
    assert info.size == len(data) and max(n or 0 for n in source.reads) <= 1 << 20
    with staged_store.open(RUN, "model.bin") as f:
        assert f.read() == data


def test_staged_uploads_that_fail_are_discarded(
    staged_store: FsspecArtifactStore, tmp_path: Path
) -> None:
    staged_store.put(RUN, "model.bin", io.BytesIO(b"v1"))
    with pytest.raises(ConnectionResetError):
        staged_store.put(
            RUN, "model.bin", cast(BinaryIO, RecordingReader(payload(3 << 20), fail_after=1))
        )
    with staged_store.open(RUN, "model.bin") as f:
        assert f.read() == b"v1"
    assert sorted(p.name for p in (tmp_path / "bucket" / RUN).iterdir()) == ["model.bin"]


@pytest.mark.parametrize(
    ("details", "expected"),
    [
        ({"mtime": 1700000000.5}, 1700000000.5),
        ({"LastModified": "2023-11-14T22:13:20Z"}, 1700000000.0),
        ({"updated": "2023-11-14T22:13:20.000+00:00"}, 1700000000.0),
        ({"created": 1700000000}, 1700000000.0),
        ({"size": 3}, 0.0),
    ],
)
def test_modification_times_of_every_file_system(details: dict[str, Any], expected: float) -> None:
    assert _fsspec._modified_at(details) == expected
