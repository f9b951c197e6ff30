"""Fixtures for the UI view tests: one demo store per session, and a client over it.

The demo (``ragtrack.demo.log_demo_runs``, 12 ``chunking`` runs and 3
``reranker`` runs in project ``rag-demo``) is logged once: the views only read,
so every test can share it. A test that needs to write makes its own store.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from ragtrack.demo import log_demo_runs
from ragtrack.server import create_app
from ragtrack.storage import Store, open_store
from ragtrack.storage.artifacts import artifact_store_of

with warnings.catch_warnings():
    # Starlette >= 1.x prefers the httpx2 package and warns (an error here) when
    # its test client runs on httpx; the client works the same on either.
    warnings.filterwarnings("ignore", message=".*httpx2.*")
    from fastapi.testclient import TestClient

DEMO_PROJECT = "rag-demo"


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store directory holding the demo runs (12 sweep runs + 3 reranker runs)."""
    directory = tmp_path_factory.mktemp("uidemo")
    log_demo_runs(directory, n_runs=12)
    return directory


@pytest.fixture(scope="session")
def ui_store(demo_dir: Path) -> Iterator[Store]:
    """The demo store, opened once; tests must not write to it."""
    store = open_store(demo_dir, create=False)
    yield store
    store.close()


@pytest.fixture(scope="session")
def ui_client(ui_store: Store) -> Iterator[TestClient]:
    """A test client of the app (API + UI) over the demo store and its artifacts."""
    with TestClient(create_app(ui_store, artifact_store_of(ui_store))) as client:
        yield client
