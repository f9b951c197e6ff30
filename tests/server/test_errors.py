"""Every failure is a JSON error body with the right status; none is a 500."""

from __future__ import annotations

import logging
from typing import Any

import pytest
import sqlalchemy as sa

from ragtrack.server import ServerSettings, create_app

API = "/api/v1"


@pytest.fixture
def settings() -> ServerSettings:
    return ServerSettings(max_body_bytes=1000)


def test_malformed_json_is_400(api: Any) -> None:
    response = api.call(
        "POST", f"{API}/runs", content=b'{"project": ', headers={"content-type": "application/json"}
    )
    message = api.check(response, status=400, code="INVALID_ARGUMENT", field="body")
    assert "not valid JSON" in message
    not_utf8 = api.call(
        "POST",
        f"{API}/runs",
        content=b'{"project": "\xff"}',
        headers={"content-type": "application/json"},
    )
    api.check(not_utf8, status=400, code="INVALID_ARGUMENT")
    no_type = api.call("POST", f"{API}/runs", content=b'{"project": "p"}')
    api.check(no_type, status=400, code="INVALID_ARGUMENT", field="body")


def test_wrong_types_name_the_field(api: Any) -> None:
    message = api.error(
        "POST",
        f"{API}/runs",
        {"project": "p", "config": "lr=1"},
        status=400,
        code="INVALID_ARGUMENT",
        field="body.config",
    )
    assert message.startswith("body.config: ")
    api.error(
        "POST",
        f"{API}/runs",
        {"project": "p", "tags": [1]},
        status=400,
        code="INVALID_ARGUMENT",
        field="body.tags.0",
    )
    api.error(
        "GET",
        f"{API}/runs",
        params={"limit": "x"},
        status=400,
        code="INVALID_ARGUMENT",
        field="query.limit",
    )


def test_unknown_route_and_wrong_method(api: Any) -> None:
    message = api.error("GET", f"{API}/nothing-here", status=404, code="NOT_FOUND", field=None)
    assert "/docs" in message
    response = api.call("DELETE", f"{API}/projects")
    api.check(response, status=405, code="METHOD_NOT_ALLOWED")
    assert "GET" in response.headers["allow"]


def test_body_over_the_limit_is_413(api: Any) -> None:
    big = {"project": "p", "notes": "x" * 2000}
    message = api.error(
        "POST", f"{API}/runs", big, status=413, code="PAYLOAD_TOO_LARGE", field="body"
    )
    assert "1,000 bytes" in message

    def chunks() -> Any:  # no Content-Length: counted while reading
        yield b'{"project": "p", "notes": "'
        for _ in range(20):
            yield b"x" * 100
        yield b'"}'

    response = api.call(
        "POST", f"{API}/runs", content=chunks(), headers={"content-type": "application/json"}
    )
    api.check(response, status=413, code="PAYLOAD_TOO_LARGE")
    # Artifact uploads stream and are not limited.
    run = api.run()
    api.ok("PUT", f"{API}/runs/{run['id']}/artifacts/big.bin", content=b"x" * 5000)


def test_lone_surrogate_is_400(api: Any) -> None:
    body = b'{"project": "p", "notes": "\\ud800"}'
    response = api.call(
        "POST", f"{API}/runs", content=body, headers={"content-type": "application/json"}
    )
    api.check(response, status=400, code="INVALID_ARGUMENT", field="body")
    pair = b'{"project": "p", "notes": "\\ud83d\\ude00"}'  # an emoji: fine
    ok = api.call("POST", f"{API}/runs", content=pair, headers={"content-type": "application/json"})
    assert ok.status_code == 201 and ok.json()["notes"] == "\U0001f600"


def test_escaped_slash_and_nul(api: Any) -> None:
    api.ok("POST", f"{API}/projects", {"name": "a/b"})
    api.ok("POST", f"{API}/projects/a%2Fb/experiments", {"name": "e"})
    assert api.ok("GET", f"{API}/projects/a%2Fb")["name"] == "a/b"
    api.error("GET", f"{API}/projects/a%2Fb%00", status=400, code="INVALID_ARGUMENT", field="path")


def test_unexpected_exception_is_a_json_500(store: Any, caplog: pytest.LogCaptureFixture) -> None:
    from fastapi.testclient import TestClient

    app = create_app(store)

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise ZeroDivisionError("a bug")

    store.list_projects = broken
    with TestClient(app, raise_server_exceptions=False) as client:
        with caplog.at_level(logging.ERROR, logger="ragtrack.server"):
            response = client.get(f"{API}/projects")
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "INTERNAL_ERROR"
    assert "ZeroDivisionError" in response.json()["error"]["message"]
    assert "a bug" not in response.json()["error"]["message"]  # details stay in the log
    assert "ZeroDivisionError: a bug" in caplog.text  # with the traceback


def test_database_errors_are_503(store: Any) -> None:
    from fastapi.testclient import TestClient

    app = create_app(store)

    def down(*args: Any, **kwargs: Any) -> Any:
        raise sa.exc.OperationalError("SELECT 1", {}, Exception("connection refused"))

    store.get_run = down
    with TestClient(app) as client:
        response = client.get(f"{API}/runs/abcd")
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "STORE_UNAVAILABLE"


def test_healthz(api: Any, store: Any) -> None:
    health = api.ok("GET", "/healthz")
    assert health["status"] == "ok" and health["schema"] and health["version"]
    store._engine.dispose()
    store._engine.pool._creator = _refuse  # the database goes away
    response = api.call("GET", "/healthz")
    api.check(response, status=503, code="STORE_UNAVAILABLE")


def _refuse() -> Any:
    raise ConnectionRefusedError("database down")


def _set_revision(store: Any, revision: str) -> None:
    with store._engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = :r"), {"r": revision})


def test_healthz_notices_a_schema_changed_under_the_server(api: Any, store: Any) -> None:
    from ragtrack.storage.sql._schema import SCHEMA_REVISION

    assert api.ok("GET", "/healthz")["schema"] == SCHEMA_REVISION
    try:
        _set_revision(store, "0001")  # another process migrated it down (or not yet up)
        older = api.error("GET", "/healthz", status=503, code="SCHEMA_VERSION")
        assert "'0001'" in older and "ragtrack db upgrade" in older
        _set_revision(store, "9999")  # a newer ragtrack migrated it
        newer = api.error("GET", "/healthz", status=503, code="SCHEMA_VERSION")
        assert "'9999'" in newer and "pip install -U ragtrack" in newer
    finally:
        _set_revision(store, SCHEMA_REVISION)
    assert api.ok("GET", "/healthz")["status"] == "ok"


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_dropped_table_is_503_naming_the_upgrade(
    backend: str, tmp_path: Any, request: pytest.FixtureRequest
) -> None:
    from fastapi.testclient import TestClient

    from ragtrack.storage.sql import SqlStore

    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'ragtrack.db'}"
    else:
        url = request.getfixturevalue("postgres_databases").create()
    store = SqlStore(url)
    try:
        run = store.create_run(project="p")
        with store._engine.begin() as conn:
            conn.exec_driver_sql(f"DROP TABLE runs{' CASCADE' if backend != 'sqlite' else ''}")
        with TestClient(create_app(store), raise_server_exceptions=False) as client:
            for path in (f"{API}/runs/{run.id}", f"{API}/runs?project=p"):
                response = client.get(path)
                assert response.status_code == 503, response.text
                error = response.json()["error"]
                assert error["code"] == "SCHEMA_VERSION", error
                assert "ragtrack db upgrade" in error["message"]
    finally:
        store.close()


def test_wrong_method_allows_every_method_of_the_path(api: Any) -> None:
    run = api.run()
    cases = {
        f"{API}/projects": "GET, POST",
        f"{API}/runs/{run['id']}": "DELETE, GET, PATCH",
        f"{API}/runs/{run['id']}/params": "GET, PATCH",
    }
    for path, allowed in cases.items():
        response = api.call("PUT", path)
        api.check(response, status=405, code="METHOD_NOT_ALLOWED", field=None)
        assert response.headers["allow"] == allowed, path


@pytest.mark.parametrize("depth", [900, 5000, 100_000])
def test_deeply_nested_bodies_are_400(api: Any, store: Any, depth: int) -> None:
    from fastapi.testclient import TestClient

    run = store.create_run(project="p")
    nested = "[" * depth + "]" * depth
    app = create_app(store, settings=ServerSettings(max_body_bytes=1 << 20))
    with TestClient(app, raise_server_exceptions=False) as client:
        for method, path, body in [
            ("PATCH", f"{API}/runs/{run.id}/summary", f'{{"values": {{"x": {nested}}}}}'),
            ("POST", f"{API}/runs", f'{{"project": "p", "config": {{"a": {nested}}}}}'),
            # (found while looking for lone surrogates, before FastAPI parses it)
            (
                "POST",
                f"{API}/runs",
                f'{{"project": "p", "notes": "\\ud83d\\ude00", "config": {{"a": {nested}}}}}',
            ),
        ]:
            response = client.request(
                method, path, content=body, headers={"content-type": "application/json"}
            )
            message = api.check(response, status=400, code="INVALID_ARGUMENT", field="body")
            assert "nested too deeply" in message, (method, path, message)
    assert store.get_run(run.id).explicit_summary == {}


def test_a_body_at_the_depth_limit_is_stored(api: Any, store: Any) -> None:
    from ragtrack.server._requests import MAX_BODY_DEPTH

    # The body object and "config" are two levels; the value fills the rest.
    inner = MAX_BODY_DEPTH - 2
    value = "[" * (inner - 1) + "{}" + "]" * (inner - 1)
    response = api.call(
        "POST",
        f"{API}/runs",
        content=f'{{"project": "p", "config": {{"a": {value}}}}}'.encode(),
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 201, response.text
    deeper = api.call(
        "POST",
        f"{API}/runs",
        content=f'{{"project": "p", "config": {{"a": [{value}]}}}}'.encode(),
        headers={"content-type": "application/json"},
    )
    assert "nested too deeply" in api.check(deeper, status=400, code="INVALID_ARGUMENT")


def test_a_recursion_error_in_the_server_is_a_500_not_the_bodys_fault(
    store: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from fastapi.testclient import TestClient

    def runaway(*args: Any, **kwargs: Any) -> Any:
        raise RecursionError("maximum recursion depth exceeded")  # a bug, e.g. a cyclic walk

    monkeypatch.setattr(store, "list_projects", runaway)
    app = create_app(store, settings=ServerSettings())
    with TestClient(app, raise_server_exceptions=False) as client, caplog.at_level(logging.ERROR):
        response = client.get(f"{API}/projects")
    assert response.status_code == 500, response.text
    assert response.json()["error"]["code"] == "INTERNAL_ERROR"
    assert "RecursionError" in caplog.text
