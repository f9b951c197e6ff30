"""Bad input at the API boundary, on SQLite and PostgreSQL: NUL in URLs and
bodies is a 400 naming the field (never PostgreSQL's 500), times stored out of
range by an older version still read, and a run update is all or nothing."""

from __future__ import annotations

from typing import Any

import pytest

from ragtrack.storage._input import MAX_TIME, MIN_TIME
from ragtrack.storage.sql import SqlStore
from ragtrack.storage.sql._schema import runs, summaries

API = "/api/v1"


@pytest.mark.parametrize(
    ("method", "path", "field"),
    [
        ("GET", f"{API}/runs/a%00b", "run_id"),
        ("PATCH", f"{API}/runs/a%00b", "run_id"),
        ("DELETE", f"{API}/runs/a%00b", "run_id"),
        ("GET", f"{API}/runs/a%00b/metrics", "run_id"),
        ("GET", f"{API}/runs/a%00b/logs", "run_id"),
        ("GET", f"{API}/runs/a%00b/metadata", "run_id"),
        ("GET", f"{API}/runs/a%00b/artifacts", "run_id"),
        ("PUT", f"{API}/runs/a%00b/artifacts/model.bin", "run_id"),
        ("GET", f"{API}/runs/a%00b/artifacts/model.bin", "run_id"),
        ("DELETE", f"{API}/runs/a%00b/artifacts/model.bin", "run_id"),
        ("GET", f"{API}/run-ids/a%00b", "run_id"),
        ("GET", f"{API}/projects/a%00b", "project"),
        ("GET", f"{API}/projects/a%00b/experiments", "project"),
        ("GET", f"{API}/projects/a%00b/run-keys", "project"),
        ("GET", f"{API}/projects/search/experiments/a%00b", "experiment"),
        ("GET", f"{API}/runs?project=a%00b", "project"),
        ("GET", f"{API}/runs?filter=name%20%3D%20%27a%00b%27", "filter"),
    ],
)
def test_nul_in_a_url_is_a_400_naming_the_field(
    api: Any, method: str, path: str, field: str
) -> None:
    api.run()
    kwargs: dict[str, Any] = {"content": b"x"} if method == "PUT" else {}
    if method == "PATCH":
        kwargs = {"json": {"notes": "x"}}
    response = api.client.request(method, path, **kwargs)
    api.check(response, status=400, code="INVALID_ARGUMENT", field=field)


def test_nul_in_a_history_key_is_a_400(api: Any) -> None:
    run = api.run()
    api.error(
        "GET",
        f"{API}/runs/{run['id']}/metrics/history",
        params={"key": "a\x00b"},
        status=400,
        code="INVALID_ARGUMENT",
        field="key",
    )


def test_nul_in_bodies_is_a_400_and_console_output_is_kept(api: Any) -> None:
    api.error("POST", f"{API}/runs", {"project": "p", "notes": "a\x00b"}, status=400,
              code="INVALID_ARGUMENT", field="notes")  # fmt: skip
    api.error("POST", f"{API}/runs", {"project": "p", "config": {"k": "a\x00b"}}, status=400,
              code="INVALID_ARGUMENT", field="config.k")  # fmt: skip
    api.error("POST", f"{API}/runs", {"project": "p", "tags": ["a\x00b"]}, status=400,
              code="INVALID_ARGUMENT", field="tags")  # fmt: skip
    api.ok("POST", f"{API}/projects", {"name": "p"})
    api.error("POST", f"{API}/projects/p/experiments", {"name": "e", "description": "a\x00b"},
              status=400, code="INVALID_ARGUMENT", field="description")  # fmt: skip
    run = api.run()
    path = f"{API}/runs/{run['id']}"
    api.error("POST", f"{path}/logs", {"stream": "stdout", "text": "x", "batch_id": "a\x00"},
              status=400, code="INVALID_ARGUMENT", field="batch_id")  # fmt: skip
    # Console output is never refused: what the job printed is kept, NUL replaced.
    api.ok("POST", f"{path}/logs", {"stream": "stdout", "text": "step\x00 1\n"})
    api.ok("POST", f"{path}/logs", {"stream": "stdout", "text": "step 2\n"})
    assert api.ok("GET", f"{path}/logs")["text"] == "step\ufffd 1\nstep 2\n"


@pytest.mark.parametrize("body", [{"created_at": False}, {"created_at": 1733300000000}])
def test_a_bad_time_is_a_400_naming_the_field(api: Any, body: dict[str, Any]) -> None:
    message = api.error(
        "POST", f"{API}/runs", {"project": "p", **body}, status=400, code="INVALID_ARGUMENT",
        field="body.created_at",
    )  # fmt: skip
    assert api.ok("GET", f"{API}/runs")["runs"] == []
    if body["created_at"] is not False:
        assert "1970-01-01" in message and "9999-12-31" in message


def test_openapi_describes_strict_times_with_their_range(api: Any) -> None:
    schemas = api.ok("GET", f"{API}/openapi.json")["components"]["schemas"]
    created_at = schemas["RunCreate"]["properties"]["created_at"]["anyOf"][0]
    assert (created_at["type"], created_at["minimum"], created_at["maximum"]) == (
        "number",
        MIN_TIME,
        MAX_TIME,
    )


def test_times_stored_out_of_range_still_read(api: Any, store: SqlStore) -> None:
    """Rows written before times were checked (a millisecond epoch, 1e300) read
    as the nearest time in range on every page, instead of a 500."""
    bad = api.run(project="p", name="bad")
    good = api.run(project="p", name="good")
    path = f"{API}/runs/{bad['id']}"
    api.ok("POST", f"{path}/metrics", {"series": {"x": {"steps": [0], "values": [1.0],
                                                       "timestamps": [1.7e9]}}})  # fmt: skip
    with store._engine.begin() as conn:
        conn.execute(
            runs.update()
            .where(runs.c.id == bad["id"])
            .values(created_at=1e300, started_at=1733300000000, ended_at=-1e300)
        )
        conn.execute(summaries.update().values(last_time=1e300))
    got = api.ok("GET", path)
    assert (got["created_at"], got["started_at"], got["ended_at"]) == (MAX_TIME, MAX_TIME, MIN_TIME)
    assert got["metrics"]["x"]["last_time"] == MAX_TIME
    assert {r["id"] for r in api.ok("GET", f"{API}/runs", params={"project": "p"})["runs"]} == {
        bad["id"],
        good["id"],
    }
    for page in (
        "/projects/p/runs",
        f"/runs/{bad['id']}",
        f"/compare?runs={bad['id']},{good['id']}",
    ):
        response = api.client.get(page)
        assert response.status_code == 200, (page, response.text[:300])


def test_run_patch_is_all_or_nothing(api: Any) -> None:
    run = api.run(name="first", tags=["old"])
    path = f"{API}/runs/{run['id']}"
    api.error("PATCH", path, {"tags_add": ["new"], "tags_remove": ["old"], "name": "a\nb"},
              status=400, code="INVALID_ARGUMENT", field="name")  # fmt: skip
    api.error("PATCH", path, {"notes": "changed", "tags_add": ["ok", "a\tb"]},
              status=400, code="INVALID_ARGUMENT", field="tags")  # fmt: skip
    got = api.ok("GET", path)
    assert (got["name"], got["tags"], got["notes"]) == ("first", ["old"], "")
    got = api.ok("PATCH", path, {"tags_add": ["new"], "tags_remove": ["old"], "name": "second"})
    assert (got["name"], got["tags"]) == ("second", ["new"])
