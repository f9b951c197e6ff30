"""``ragtrack server`` in process, with uvicorn.run replaced: what it opens,
prints and hands to uvicorn (test_server_process.py runs the real thing)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from ragtrack.cli import cli
from ragtrack.server.monitoring import MULTIPROC_ENV
from ragtrack.server.settings import ServerSettings


@pytest.fixture
def uvicorn_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, dict[str, Any]]]:
    import uvicorn

    calls: list[tuple[Any, dict[str, Any]]] = []

    def run(app: Any, **kwargs: Any) -> None:
        kwargs["environ"] = dict(os.environ)
        calls.append((app, kwargs))
        if not isinstance(app, str):
            app.state.store.close()  # what the app's shutdown would do

    monkeypatch.setattr(uvicorn, "run", run)
    for name in ("RAGTRACK_URI", "RAGTRACK_DIR", "RAGTRACK_ARTIFACTS", "RAGTRACK_SERVER_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    return calls


def invoke(*args: str, env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(cli, list(args), env=env)


def test_one_worker_serves_the_app_in_process(
    tmp_path: Path, uvicorn_calls: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(os, "environ", dict(os.environ))  # the command may set variables
    result = invoke("--dir", str(tmp_path), "server", "--port", "9999", "--max-body-mb", "2")
    assert result.exit_code == 0, result.output
    assert "on http://127.0.0.1:9999" in result.output
    assert f"artifacts: {tmp_path.resolve() / 'artifacts'}" in result.output
    assert (tmp_path / "ragtrack.db").exists()  # an embedded store is created and migrated
    ((app, kwargs),) = uvicorn_calls
    assert kwargs["host"] == "127.0.0.1" and kwargs["port"] == 9999
    assert "ragtrack" in kwargs["log_config"]["loggers"]
    assert app.state.settings.max_body_bytes == 2 * 2**20
    assert app.state.settings.auth_token is None


def test_several_workers_get_their_settings_from_the_environment(
    tmp_path: Path, uvicorn_calls: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(os, "environ", dict(os.environ))
    result = invoke(
        "server",
        "--store",
        str(tmp_path),
        "--workers",
        "3",
        "--host",
        "0.0.0.0",
        env={"RAGTRACK_SERVER_TOKEN": "tok"},
    )
    assert result.exit_code == 0, result.output
    ((target, kwargs),) = uvicorn_calls
    assert target == "ragtrack.server.app:app_from_env"
    assert kwargs["factory"] is True and kwargs["workers"] == 3
    settings = ServerSettings.from_env(kwargs["environ"])
    assert settings.store == str(tmp_path.resolve()) and settings.auth_token == "tok"
    assert kwargs["environ"][MULTIPROC_ENV]  # a fresh directory for the worker metrics
    assert not os.path.exists(kwargs["environ"][MULTIPROC_ENV])  # removed afterwards
    assert "Warning" not in result.output  # a token is set


def test_warns_when_open_to_the_network_without_a_token(
    tmp_path: Path, uvicorn_calls: list[Any]
) -> None:
    result = invoke("server", "--store", str(tmp_path), "--host", "0.0.0.0")
    assert result.exit_code == 0
    assert "Warning: no token set" in result.output


def test_artifacts_location(tmp_path: Path, uvicorn_calls: list[Any]) -> None:
    db = tmp_path / "data" / "runs.db"
    db.parent.mkdir()
    result = invoke("server", "--store", f"sqlite:///{db}")
    assert result.exit_code == 0, result.output
    assert uvicorn_calls[-1][0].state.settings.artifacts == str(db.parent / "artifacts")
    result = invoke("server", "--store", str(tmp_path), env={"RAGTRACK_ARTIFACTS": "memory://x"})
    assert uvicorn_calls[-1][0].state.settings.artifacts == "memory://x"
    result = invoke("server", "--store", str(tmp_path), "--artifacts", str(tmp_path / "files"))
    assert uvicorn_calls[-1][0].state.settings.artifacts == str(tmp_path / "files")


def test_usage_errors(uvicorn_calls: list[Any]) -> None:
    no_artifacts = invoke("server", "--store", "postgresql+psycopg://u@127.0.0.1:1/x")
    assert no_artifacts.exit_code == 2 and "--artifacts is required" in no_artifacts.output
    http = invoke("server", "--store", "http://127.0.0.1:8650")
    assert http.exit_code == 2 and "names a ragtrack server" in http.output
    from_env = invoke("server", env={"RAGTRACK_URI": "http://tracking:8650"})
    assert from_env.exit_code == 2 and "$RAGTRACK_URI" in from_env.output
    assert invoke("server", "--workers", "0").exit_code == 2
    assert invoke("server", "--max-body-mb", "0").exit_code == 2
    assert uvicorn_calls == []


def test_missing_server_extra_is_one_line(
    tmp_path: Path, uvicorn_calls: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "uvicorn", None)  # import uvicorn fails
    result = invoke("server", "--store", str(tmp_path))
    assert result.exit_code == 1
    assert result.output == (
        "Error: ragtrack server needs 'uvicorn', which is not installed: "
        "pip install 'ragtrack[server]'\n"
    )


def test_settings_from_env_checks_the_body_limit() -> None:
    from ragtrack.exceptions import InvalidArgumentError

    assert ServerSettings.from_env({}).max_body_bytes == 256 * 2**20
    with pytest.raises(InvalidArgumentError, match="RAGTRACK_SERVER_MAX_BODY_BYTES"):
        ServerSettings.from_env({"RAGTRACK_SERVER_MAX_BODY_BYTES": "lots"})


def test_upload_settings_reach_the_workers(
    tmp_path: Path, uvicorn_calls: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from ragtrack.exceptions import InvalidArgumentError

    monkeypatch.setattr(os, "environ", dict(os.environ))
    result = invoke(
        "server", "--store", str(tmp_path), "--workers", "2",
        "--body-timeout", "2.5", "--max-uploads", "4",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    ((_, kwargs),) = uvicorn_calls
    settings = ServerSettings.from_env(kwargs["environ"])
    assert (settings.body_timeout, settings.max_uploads) == (2.5, 4)
    assert invoke("server", "--body-timeout", "0").exit_code == 2
    bad = {"RAGTRACK_SERVER_BODY_TIMEOUT": "nan", "RAGTRACK_SERVER_MAX_UPLOADS": "0"}
    for name, value in bad.items():
        with pytest.raises(InvalidArgumentError, match=name):
            ServerSettings.from_env({name: value})
