"""Where artifacts go: open_artifact_store for a location, artifact_store_for /
artifact_store_of for the artifact store that belongs to a metadata store."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ragtrack.exceptions import InvalidArgumentError
from ragtrack.storage import open_store
from ragtrack.storage._registry import StoreLocation, resolve_location
from ragtrack.storage.artifacts import (
    FsspecArtifactStore,
    LocalArtifactStore,
    artifact_store_for,
    artifact_store_of,
    open_artifact_store,
)
from ragtrack.storage.rest._artifacts import RestArtifactStore


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("RAGTRACK_ARTIFACTS", "RAGTRACK_TOKEN", "RAGTRACK_URI"):
        monkeypatch.delenv(name, raising=False)


def _root(store: object) -> Path:
    assert isinstance(store, LocalArtifactStore), store
    return store.root


def test_open_artifact_store(tmp_path: Path) -> None:
    assert _root(open_artifact_store(tmp_path / "a")) == tmp_path.resolve() / "a"
    assert _root(open_artifact_store(f"file://{tmp_path}/b")) == tmp_path.resolve() / "b"
    assert isinstance(open_artifact_store("memory://bucket/prefix"), FsspecArtifactStore)
    with pytest.raises(InvalidArgumentError, match="cannot be empty"):
        open_artifact_store("")


def test_an_embedded_store_keeps_artifacts_in_its_directory(tmp_path: Path) -> None:
    store = artifact_store_for(resolve_location(tmp_path / "store"))
    assert _root(store) == tmp_path.resolve() / "store" / "artifacts"


def test_a_sqlite_file_keeps_them_next_to_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/db/tracking.sqlite"
    assert _root(artifact_store_for(url)) == tmp_path.resolve() / "db" / "artifacts"
    # the embedded store's URL names the same place as its directory
    embedded = resolve_location(tmp_path / "store")
    assert _root(artifact_store_for(embedded.url)) == _root(artifact_store_for(embedded))


@pytest.mark.parametrize("url", ["postgresql+psycopg://u:pw@db/ragtrack", "sqlite://"])
def test_a_database_without_a_directory_needs_ragtrack_artifacts(
    url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with pytest.raises(InvalidArgumentError, match="set RAGTRACK_ARTIFACTS") as e:
        artifact_store_for(url)
    assert "pw" not in e.value.message
    monkeypatch.setenv("RAGTRACK_ARTIFACTS", str(tmp_path / "shared"))
    assert _root(artifact_store_for(url)) == tmp_path.resolve() / "shared"


def test_ragtrack_artifacts_overrides_the_default(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("RAGTRACK_ARTIFACTS", "memory://team-artifacts")
    store = artifact_store_for(resolve_location(tmp_path))
    assert isinstance(store, FsspecArtifactStore) and store.url == "memory://team-artifacts"


def test_a_server_serves_its_own_artifacts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAGTRACK_ARTIFACTS", "/ignored/for/servers")
    monkeypatch.setenv("RAGTRACK_TOKEN", "t0ken")
    for location in ("http://tracking:8650/", StoreLocation("https://example.org/ragtrack")):
        store = artifact_store_for(location)
        assert isinstance(store, RestArtifactStore)
        assert store.url in ("http://tracking:8650", "https://example.org/ragtrack")
        assert store._headers["Authorization"] == "Bearer t0ken"


def test_artifact_store_of_an_open_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with open_store(tmp_path / "s") as store:
        first = artifact_store_of(store)
        assert _root(first) == tmp_path.resolve() / "s" / "artifacts"
        assert artifact_store_of(store) is first  # kept for the process
        monkeypatch.setenv("RAGTRACK_ARTIFACTS", os.fspath(tmp_path / "elsewhere"))
        assert _root(artifact_store_of(store)) == tmp_path.resolve() / "elsewhere"


def test_a_store_without_url(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    store = object()
    with pytest.raises(InvalidArgumentError, match="RAGTRACK_ARTIFACTS"):
        artifact_store_of(store)  # type: ignore[arg-type]
    monkeypatch.setenv("RAGTRACK_ARTIFACTS", os.fspath(tmp_path))
    assert _root(artifact_store_of(store)) == tmp_path.resolve()  # type: ignore[arg-type]
