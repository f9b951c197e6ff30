"""Schemathesis over the OpenAPI document: whatever a client sends that the
schema allows (and a good deal that it does not), the server never answers 5xx,
and its answers match the documented statuses, media types and shapes."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from ragtrack.exceptions import NotFoundError
from ragtrack.server import ServerSettings, create_app
from ragtrack.storage.artifacts import LocalArtifactStore
from ragtrack.storage.sql import SqlStore

# Schemathesis loads the schema when the module is imported (its fixture-based
# loading does not work with pytest 9), so the app and its store live for the module.
_DIR = Path(tempfile.mkdtemp(prefix="ragtrack-fuzz-"))
_STORE = SqlStore(f"sqlite:///{_DIR / 'ragtrack.db'}")
_APP = create_app(_STORE, LocalArtifactStore(_DIR / "artifacts"), ServerSettings())

RUN_ID = "fuzz-run-0001"
KNOWN = {"run_id": RUN_ID, "project": "search", "experiment": "chunking", "prefix": "fuzz"}

schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", _APP)


@schema.hook
def flatmap_path_parameters(context: Any, path_parameters: dict[str, Any] | None) -> Any:
    """Half the cases name the run, project and experiment that exist (the rest
    name nothing and get 404s), so generated bodies reach the store."""
    params = path_parameters or {}
    known = {k: v for k, v in KNOWN.items() if k in params}
    return st.sampled_from([params, {**params, **known}])


def _restore_known() -> None:
    """Put back what an earlier case deleted."""
    try:
        _STORE.get_experiment("search", "chunking")
    except NotFoundError:
        _STORE.create_experiment("search", "chunking")
    try:
        _STORE.get_run(RUN_ID)
    except NotFoundError:
        _STORE.create_run(project="search", experiment="chunking", run_id=RUN_ID)


@pytest.fixture(scope="module", autouse=True)
def _cleanup() -> Iterator[None]:
    yield
    _STORE.close()
    shutil.rmtree(_DIR, ignore_errors=True)


@schema.parametrize()
@settings(
    max_examples=20,
    derandomize=True,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)
def test_api_conforms_to_its_schema(case: Any) -> None:
    _restore_known()
    case.call_and_validate(
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ]
    )
