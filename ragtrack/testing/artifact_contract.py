"""The ArtifactStore contract test suite. Every artifact backend runs it.

Subclass :class:`ArtifactStoreContract` in a test module and provide an
``artifact_store`` fixture returning a fresh, empty store; override
:meth:`~ArtifactStoreContract.stored_names` to let the suite look for leftover
temporary files::

    class TestMyArtifactStore(ArtifactStoreContract):
        @pytest.fixture
        def artifact_store(self, tmp_path):
            return MyArtifactStore(tmp_path)
"""

from __future__ import annotations

import hashlib
import io
import time
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO, cast

import pytest

from ragtrack.exceptions import ArtifactNotFoundError, InvalidArgumentError
from ragtrack.storage.artifacts import CHUNK_SIZE, ArtifactStore

RUN = "0123456789abcdef"
OTHER_RUN = "fedcba9876543210"

BAD_PATHS = [
    "",
    ".",
    "..",
    "../escape.txt",
    "a/../../escape.txt",
    "a/..",
    "/etc/passwd",
    "C:/Windows/win.ini",
    "a\\b",
    "..\\..\\escape.txt",
    "a//b",
    "a/",
    "a/./b",
    "nul\x00byte",
    "new\nline",
    "x" * 1025,
    "a/" + "x" * 256,
    ".ragtrack-upload-1234",
]

BAD_RUN_IDS = ["", ".", "..", "../x", "a/b", "a\\b", "a.b", "x" * 65]

UNICODE_PATHS = [
    "données/résumé — ü.txt",
    "图表/召回率.png",
    "emoji 🎉.bin",
    "with space/and@at+plus=eq.json",
    ".hidden",
    "a" * 200 + "/" + "b" * 200,
]


class RecordingReader(io.RawIOBase):
    """A binary source that records the size of every read and can fail mid-way."""

    def __init__(self, data: bytes, *, fail_after: int | None = None) -> None:
        self._data = io.BytesIO(data)
        self.reads: list[int | None] = []
        self._fail_after = fail_after

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        self.reads.append(size)
        if self._fail_after is not None and len(self.reads) > self._fail_after:
            raise ConnectionResetError("the source broke off")
        return self._data.read(size)

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def payload(size: int) -> bytes:
    """Deterministic, incompressible-looking bytes."""
    block = hashlib.sha256(b"ragtrack").digest() * 2048  # 64 KiB
    return (block * (size // len(block) + 1))[:size]


class ArtifactStoreContract:
    """Behaviour every ArtifactStore must show; see ``ragtrack/storage/artifacts/_base.py``."""

    @pytest.fixture
    def artifact_store(self) -> ArtifactStore:
        raise NotImplementedError("subclasses provide a fresh artifact store")

    def stored_names(self, store: ArtifactStore) -> list[str] | None:
        """Every name the backend holds, temp files included (``None``: unknown)."""
        return None

    def put_bytes(self, store: ArtifactStore, path: str, data: bytes, run: str = RUN) -> Any:
        return store.put(run, path, io.BytesIO(data))

    def read(self, store: ArtifactStore, path: str, run: str = RUN) -> bytes:
        with store.open(run, path) as f:
            return f.read()

    # -- put and open ---------------------------------------------------------------------

    def test_round_trip_of_a_large_file_streams_in_chunks(
        self, artifact_store: ArtifactStore
    ) -> None:
        data = payload(5 * CHUNK_SIZE + 12345)
        source = RecordingReader(data)
        info = artifact_store.put(RUN, "model/weights.bin", cast(BinaryIO, source))
        assert (info.path, info.size) == ("model/weights.bin", len(data))
        assert info.sha256 == hashlib.sha256(data).hexdigest()
        assert all(n is not None and 0 < n <= CHUNK_SIZE for n in source.reads), source.reads
        assert len(source.reads) >= 6
        with artifact_store.open(RUN, "model/weights.bin") as f:
            pieces = iter(lambda: f.read(256 * 1024), b"")
            assert b"".join(pieces) == data

    def test_put_reads_from_the_current_position(self, artifact_store: ArtifactStore) -> None:
        source = io.BytesIO(b"headerbody")
        source.seek(6)
        assert artifact_store.put(RUN, "body.txt", source).size == 4
        assert self.read(artifact_store, "body.txt") == b"body"

    def test_empty_file(self, artifact_store: ArtifactStore) -> None:
        info = self.put_bytes(artifact_store, "empty", b"")
        assert (info.size, info.sha256) == (0, hashlib.sha256(b"").hexdigest())
        assert self.read(artifact_store, "empty") == b""
        assert artifact_store.info(RUN, "empty").size == 0

    def test_put_replaces_an_existing_artifact(self, artifact_store: ArtifactStore) -> None:
        self.put_bytes(artifact_store, "a/x.txt", b"first version")
        self.put_bytes(artifact_store, "a/x.txt", b"second")
        assert self.read(artifact_store, "a/x.txt") == b"second"
        assert [a.size for a in artifact_store.list(RUN)] == [6]

    def test_text_mode_source_is_refused(self, artifact_store: ArtifactStore) -> None:
        with pytest.raises(InvalidArgumentError, match="binary mode"):
            artifact_store.put(RUN, "t.txt", io.StringIO("text"))  # type: ignore[arg-type]
        assert artifact_store.list(RUN) == []

    def test_runs_are_separate(self, artifact_store: ArtifactStore) -> None:
        self.put_bytes(artifact_store, "same.txt", b"one")
        self.put_bytes(artifact_store, "same.txt", b"two", run=OTHER_RUN)
        assert self.read(artifact_store, "same.txt") == b"one"
        assert self.read(artifact_store, "same.txt", run=OTHER_RUN) == b"two"

    # -- list and info --------------------------------------------------------------------

    def test_list_is_sorted_and_filters_by_prefix(self, artifact_store: ArtifactStore) -> None:
        for path in ["b.txt", "a/z.txt", "a/b/c.txt", "a.txt", "ab/x", "a/b/a.txt"]:
            self.put_bytes(artifact_store, path, path.encode())

        def paths(prefix: str = "") -> list[str]:
            return [a.path for a in artifact_store.list(RUN, prefix)]

        assert paths() == ["a.txt", "a/b/a.txt", "a/b/c.txt", "a/z.txt", "ab/x", "b.txt"]
        assert paths("a/") == ["a/b/a.txt", "a/b/c.txt", "a/z.txt"]
        assert paths("a") == ["a.txt", "a/b/a.txt", "a/b/c.txt", "a/z.txt", "ab/x"]
        assert paths("a/b") == ["a/b/a.txt", "a/b/c.txt"]
        assert paths("a/b/c") == ["a/b/c.txt"]
        assert paths("a.txt") == ["a.txt"]
        assert paths("zzz") == [] and paths("zzz/") == [] and paths("b.txt/") == []
        listed = {a.path: a for a in artifact_store.list(RUN)}
        assert listed["a/z.txt"].size == len(b"a/z.txt")
        assert all(a.sha256 is None for a in listed.values())

    def test_list_of_a_run_without_artifacts_is_empty(self, artifact_store: ArtifactStore) -> None:
        assert artifact_store.list(RUN) == []
        assert artifact_store.list(RUN, "a/") == []

    def test_list_rejects_a_bad_prefix(self, artifact_store: ArtifactStore) -> None:
        for prefix in ["../", "/etc", "a\\b", "a//", "../x"]:
            with pytest.raises(InvalidArgumentError) as e:
                artifact_store.list(RUN, prefix)
            assert e.value.field == "prefix"

    def test_info(self, artifact_store: ArtifactStore) -> None:
        before = time.time()
        self.put_bytes(artifact_store, "eval/report.json", b'{"recall": 0.61}')
        info = artifact_store.info(RUN, "eval/report.json")
        assert (info.path, info.size, info.sha256) == ("eval/report.json", 16, None)
        assert before - 5 <= info.modified_at <= time.time() + 5

    def test_missing_artifacts_raise_not_found(self, artifact_store: ArtifactStore) -> None:
        self.put_bytes(artifact_store, "dir/file.txt", b"x")
        for path in ["nope.txt", "dir", "dir/nope", "dir/file.txt/deeper"]:
            with pytest.raises(ArtifactNotFoundError):
                artifact_store.open(RUN, path)
            with pytest.raises(ArtifactNotFoundError):
                artifact_store.info(RUN, path)
            with pytest.raises(ArtifactNotFoundError):
                artifact_store.delete(RUN, path)
        with pytest.raises(ArtifactNotFoundError, match=r"nope\.txt"):
            artifact_store.open(OTHER_RUN, "nope.txt")

    # -- delete ---------------------------------------------------------------------------

    def test_delete(self, artifact_store: ArtifactStore) -> None:
        self.put_bytes(artifact_store, "a/b/c.txt", b"c")
        self.put_bytes(artifact_store, "a/d.txt", b"d")
        artifact_store.delete(RUN, "a/b/c.txt")
        assert [a.path for a in artifact_store.list(RUN)] == ["a/d.txt"]
        with pytest.raises(ArtifactNotFoundError):
            artifact_store.open(RUN, "a/b/c.txt")
        # The emptied directory is gone: its name can now be a file.
        self.put_bytes(artifact_store, "a/b", b"now a file")
        assert self.read(artifact_store, "a/b") == b"now a file"

    def test_delete_run(self, artifact_store: ArtifactStore) -> None:
        self.put_bytes(artifact_store, "x.txt", b"1")
        self.put_bytes(artifact_store, "deep/er/y.txt", b"2")
        self.put_bytes(artifact_store, "x.txt", b"3", run=OTHER_RUN)
        artifact_store.delete_run(RUN)
        assert artifact_store.list(RUN) == []
        assert [a.path for a in artifact_store.list(OTHER_RUN)] == ["x.txt"]
        artifact_store.delete_run(RUN)  # nothing left: still fine
        artifact_store.delete_run("0000000000000000")

    # -- paths ----------------------------------------------------------------------------

    def test_a_path_cannot_be_a_file_and_a_directory(self, artifact_store: ArtifactStore) -> None:
        self.put_bytes(artifact_store, "model", b"file")
        with pytest.raises(InvalidArgumentError, match="'model' is an artifact") as e:
            self.put_bytes(artifact_store, "model/weights.bin", b"x")
        assert e.value.field == "path"
        self.put_bytes(artifact_store, "plots/loss.png", b"png")
        with pytest.raises(InvalidArgumentError, match="directory of artifacts"):
            self.put_bytes(artifact_store, "plots", b"x")
        assert [a.path for a in artifact_store.list(RUN)] == ["model", "plots/loss.png"]

    @pytest.mark.parametrize("path", BAD_PATHS, ids=repr)
    def test_bad_paths_are_refused(self, artifact_store: ArtifactStore, path: str) -> None:
        calls: list[Callable[[], object]] = [
            lambda: self.put_bytes(artifact_store, path, b"evil"),
            lambda: artifact_store.open(RUN, path),
            lambda: artifact_store.info(RUN, path),
            lambda: artifact_store.delete(RUN, path),
        ]
        for call in calls:
            with pytest.raises(InvalidArgumentError) as e:
                call()
            assert e.value.field == "path"
            assert "invalid artifact path" in e.value.message
        assert artifact_store.list(RUN) == []
        names = self.stored_names(artifact_store)
        assert not names, names

    @pytest.mark.parametrize("run_id", BAD_RUN_IDS, ids=repr)
    def test_bad_run_ids_are_refused(self, artifact_store: ArtifactStore, run_id: str) -> None:
        calls: list[Callable[[], object]] = [
            lambda: self.put_bytes(artifact_store, "x.txt", b"evil", run=run_id),
            lambda: artifact_store.open(run_id, "x.txt"),
            lambda: artifact_store.list(run_id),
            lambda: artifact_store.delete_run(run_id),
        ]
        for call in calls:
            with pytest.raises(InvalidArgumentError) as e:
                call()
            assert e.value.field == "run_id"
        assert not self.stored_names(artifact_store)

    def test_unicode_names(self, artifact_store: ArtifactStore) -> None:
        for path in UNICODE_PATHS:
            self.put_bytes(artifact_store, path, path.encode())
        assert [a.path for a in artifact_store.list(RUN)] == sorted(UNICODE_PATHS)
        for path in UNICODE_PATHS:
            assert self.read(artifact_store, path) == path.encode()
        assert [a.path for a in artifact_store.list(RUN, "données/")] == [UNICODE_PATHS[0]]

    def test_names_are_unicode_normalised(self, artifact_store: ArtifactStore) -> None:
        decomposed = unicodedata.normalize("NFD", "résumé.txt")
        assert self.put_bytes(artifact_store, decomposed, b"cv").path == "résumé.txt"
        assert self.read(artifact_store, "résumé.txt") == b"cv"
        assert self.read(artifact_store, decomposed) == b"cv"

    # -- atomicity ------------------------------------------------------------------------

    def test_a_failed_upload_leaves_nothing(self, artifact_store: ArtifactStore) -> None:
        source = RecordingReader(payload(4 * CHUNK_SIZE), fail_after=2)
        with pytest.raises(ConnectionResetError, match="broke off"):  # the source's own error
            artifact_store.put(RUN, "new/dir/weights.bin", cast(BinaryIO, source))
        assert artifact_store.list(RUN) == []
        with pytest.raises(ArtifactNotFoundError):
            artifact_store.info(RUN, "new/dir/weights.bin")
        names = self.stored_names(artifact_store)
        assert not names, f"left behind: {names}"

    def test_a_failed_overwrite_keeps_the_previous_version(
        self, artifact_store: ArtifactStore
    ) -> None:
        self.put_bytes(artifact_store, "model.bin", b"version 1")
        source = RecordingReader(payload(3 * CHUNK_SIZE), fail_after=1)
        with pytest.raises(ConnectionResetError, match="broke off"):  # the source's own error
            artifact_store.put(RUN, "model.bin", cast(BinaryIO, source))
        assert self.read(artifact_store, "model.bin") == b"version 1"
        assert [a.path for a in artifact_store.list(RUN)] == ["model.bin"]
        names = self.stored_names(artifact_store)
        assert names is None or len(names) == 1, names

    # -- derived operations ---------------------------------------------------------------

    def test_upload_and_download_a_directory(
        self, artifact_store: ArtifactStore, tmp_path: Path
    ) -> None:
        src = tmp_path / "checkpoint"
        (src / "tokenizer").mkdir(parents=True)
        (src / "config.json").write_bytes(b"{}")
        (src / "tokenizer" / "vocab.txt").write_bytes(b"a\nb\n")
        infos = artifact_store.upload(RUN, src)
        assert [i.path for i in infos] == [
            "checkpoint/config.json",
            "checkpoint/tokenizer/vocab.txt",
        ]
        out = artifact_store.download(RUN, "checkpoint", tmp_path / "copy")
        assert (out / "tokenizer" / "vocab.txt").read_bytes() == b"a\nb\n"
        one = artifact_store.download(RUN, "checkpoint/config.json", tmp_path)
        assert one == tmp_path / "config.json" and one.read_bytes() == b"{}"
        with pytest.raises(ArtifactNotFoundError):
            artifact_store.download(RUN, "nothing", tmp_path)
