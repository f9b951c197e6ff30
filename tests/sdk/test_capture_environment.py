from __future__ import annotations

import getpass
import json
import os
import platform
import shlex
import sys
from importlib import metadata

import pytest

from ragtrack.sdk.capture.environment import (
    _scan_packages,
    command_line,
    environment_info,
    installed_packages,
)


def test_describes_the_interpreter_and_process() -> None:
    info = environment_info(include_packages=False)

    assert info["python_version"] == platform.python_version()
    assert info["python_implementation"] == platform.python_implementation()
    assert info["python_executable"] == sys.executable
    assert info["command"] == sys.argv
    assert info["cwd"] == os.getcwd()
    assert info["pid"] == os.getpid()
    assert info["os"] == platform.platform()
    assert isinstance(info["hostname"], str) and info["hostname"]
    assert "packages" not in info


def test_packages_are_sorted_with_their_versions() -> None:
    packages = environment_info()["packages"]

    assert packages["pytest"] == metadata.version("pytest")
    assert list(packages) == sorted(packages, key=str.lower)


def test_installed_packages_skips_broken_metadata(monkeypatch: pytest.MonkeyPatch) -> None:
    class Broken:
        @property
        def metadata(self) -> dict[str, str]:
            raise OSError("METADATA vanished")

    class Named:
        def __init__(self, name: str, version: str) -> None:
            self.metadata = {"Name": name}
            self.version = version

    dists = [Named("zeta", "2"), Broken(), Named("Alpha", "1"), Named("zeta", "3")]
    monkeypatch.setattr(metadata, "distributions", lambda: dists)
    _scan_packages.cache_clear()
    try:
        assert installed_packages() == {"Alpha": "1", "zeta": "2"}
    finally:
        _scan_packages.cache_clear()


def test_environment_variables_are_never_recorded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAGTRACK_TEST_API_KEY", "sk-very-secret-value")

    dumped = json.dumps(environment_info())

    assert "sk-very-secret-value" not in dumped


def test_command_line_reruns_module_invocations(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "orig_argv", ["python3", "-m", "trainer", "--name", "my run"])

    line = command_line()

    assert shlex.split(line) == [sys.executable, "-m", "trainer", "--name", "my run"]


def test_command_line_falls_back_to_argv(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "orig_argv", [])
    monkeypatch.setattr(sys, "argv", ["train.py", "--lr", "0.1"])

    assert shlex.split(command_line()) == [sys.executable, "train.py", "--lr", "0.1"]
    assert environment_info(include_packages=False)["command"] == ["train.py", "--lr", "0.1"]


def test_unknown_user_is_none(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_user() -> str:
        raise OSError("No username set in the environment")

    monkeypatch.setattr(getpass, "getuser", no_user)

    assert environment_info(include_packages=False)["user"] is None


def test_is_json_serialisable() -> None:
    info = environment_info()

    assert json.loads(json.dumps(info)) == info
