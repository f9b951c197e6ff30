from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path

import pytest

import ragtrack.sdk.capture as capture_module
from ragtrack.exceptions import InvalidArgumentError
from ragtrack.sdk.capture import CaptureSettings, collect_metadata
from ragtrack.sdk.capture.settings import ENV_VARS

SWITCHES = ("git", "environment", "packages", "hardware", "console", "system_metrics")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ENV_VARS.values():
        monkeypatch.delenv(var, raising=False)


def test_defaults() -> None:
    settings = CaptureSettings()

    assert all(getattr(settings, name) is True for name in SWITCHES)
    assert settings.system_metrics_interval == 10.0
    assert settings.console_limit_bytes == 10 * 2**20
    assert settings.git_diff_limit_bytes == 5 * 2**20
    assert CaptureSettings.resolve(None) == settings
    assert CaptureSettings.resolve(True) == settings


def test_every_field_has_an_environment_variable() -> None:
    assert set(ENV_VARS) == {field.name for field in dataclasses.fields(CaptureSettings)}


def test_false_switches_everything_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAGTRACK_CAPTURE_GIT", "1")

    settings = CaptureSettings.resolve(False)

    assert not any(getattr(settings, name) for name in SWITCHES)


def test_settings_pass_through_unchanged() -> None:
    settings = CaptureSettings(console=False)

    assert CaptureSettings.resolve(settings) is settings


def test_environment_variables_override_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAGTRACK_CAPTURE_GIT", "0")
    monkeypatch.setenv("RAGTRACK_CAPTURE_CONSOLE", "false")
    monkeypatch.setenv("RAGTRACK_CAPTURE_PACKAGES", " No ")
    monkeypatch.setenv("RAGTRACK_CAPTURE_HARDWARE", "")  # empty means unset
    monkeypatch.setenv("RAGTRACK_SYSTEM_METRICS_INTERVAL", "5")
    monkeypatch.setenv("RAGTRACK_CONSOLE_LIMIT_BYTES", "1024")

    settings = CaptureSettings.resolve(None)

    assert (settings.git, settings.console, settings.packages) == (False, False, False)
    assert settings.hardware is True and settings.environment is True
    assert settings.system_metrics_interval == 5.0
    assert settings.console_limit_bytes == 1024


def test_mapping_replaces_fields_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAGTRACK_CAPTURE_GIT", "0")
    monkeypatch.setenv("RAGTRACK_CAPTURE_HARDWARE", "0")

    settings = CaptureSettings.resolve({"console": False, "hardware": True})

    assert settings.console is False
    assert settings.hardware is True  # explicit code beats the environment
    assert settings.git is False


def test_integer_interval_becomes_float() -> None:
    settings = CaptureSettings.resolve({"system_metrics_interval": 2})

    assert settings.system_metrics_interval == 2.0
    assert isinstance(settings.system_metrics_interval, float)


def test_unknown_field_names_the_valid_ones() -> None:
    with pytest.raises(InvalidArgumentError, match=r"'gpu'.*valid settings are: git, ") as info:
        CaptureSettings.resolve({"gpu": False})

    assert info.value.field == "gpu"
    assert "system_metrics_interval" in str(info.value)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"git": "yes"}, "git"),
        ({"console": 1}, "console"),
        ({"system_metrics_interval": True}, "system_metrics_interval"),
        ({"system_metrics_interval": "10"}, "system_metrics_interval"),
        ({"system_metrics_interval": 0}, "system_metrics_interval"),
        ({"system_metrics_interval": float("inf")}, "system_metrics_interval"),
        ({"console_limit_bytes": -1}, "console_limit_bytes"),
        ({"git_diff_limit_bytes": 1.5}, "git_diff_limit_bytes"),
    ],
)
def test_wrong_types_are_rejected(overrides: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidArgumentError, match=field) as info:
        CaptureSettings.resolve(overrides)

    assert info.value.field == field


@pytest.mark.parametrize("value", ["yes", 1, ["git"]])
def test_unsupported_values_are_rejected(value: object) -> None:
    with pytest.raises(InvalidArgumentError, match="capture must be"):
        CaptureSettings.resolve(value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("var", "raw"),
    [
        ("RAGTRACK_CAPTURE_GIT", "maybe"),
        ("RAGTRACK_SYSTEM_METRICS_INTERVAL", "fast"),
        ("RAGTRACK_SYSTEM_METRICS_INTERVAL", "-1"),
        ("RAGTRACK_GIT_DIFF_LIMIT_BYTES", "1e6"),
    ],
)
def test_bad_environment_values_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, var: str, raw: str
) -> None:
    monkeypatch.setenv(var, raw)

    with pytest.raises(InvalidArgumentError, match=var):
        CaptureSettings.resolve(None)


def test_settings_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        CaptureSettings().git = False  # type: ignore[misc]


# collect_metadata: the settings decide which parts are gathered.


def test_collect_metadata_gathers_the_enabled_parts(tmp_path: Path) -> None:
    metadata = collect_metadata(CaptureSettings(packages=False), cwd=str(tmp_path))

    assert set(metadata) == {"git", "environment", "hardware"}
    assert "packages" not in metadata["environment"]
    assert "cpu_count_logical" in metadata["hardware"]
    assert json.loads(json.dumps(metadata)) == metadata


def test_collect_metadata_includes_packages_when_asked() -> None:
    settings = CaptureSettings(git=False, hardware=False)

    metadata = collect_metadata(settings)

    assert list(metadata) == ["environment"]
    assert "pytest" in metadata["environment"]["packages"]


def test_collect_metadata_with_everything_off() -> None:
    assert collect_metadata(CaptureSettings.resolve(False)) == {}


def test_collect_metadata_fails_softly(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken() -> dict[str, object]:
        raise RuntimeError("psutil exploded")

    monkeypatch.setattr(capture_module, "hardware_info", broken)
    settings = CaptureSettings(git=False, packages=False)

    with caplog.at_level(logging.WARNING, logger="ragtrack"):
        metadata = collect_metadata(settings)

    assert metadata["hardware"] == {"error": "RuntimeError: psutil exploded"}
    assert "pid" in metadata["environment"]
    assert "could not record hardware metadata" in caplog.text
