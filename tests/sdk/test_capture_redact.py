"""Secrets never reach stored metadata through the command line or git remotes."""

from __future__ import annotations

import json
import sys

import pytest

from ragtrack.sdk.capture.environment import environment_info
from ragtrack.sdk.capture.git import strip_credentials
from ragtrack.sdk.capture.redact import redact_args


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--api-key", "sk-1"], ["--api-key", "***"]),
        (["--hf_token=hf_abc"], ["--hf_token=***"]),
        (["--db-password", "pw", "--lr", "0.1"], ["--db-password", "***", "--lr", "0.1"]),
        (["--db", "postgresql://u:hunter2@h/db"], ["--db", "postgresql://***@h/db"]),
        (["DATABASE_URL=mysql://root:pw@localhost/x"], ["DATABASE_URL=mysql://***@localhost/x"]),
        (
            ["--metric", "recall@10", "--out", "s3://bucket/x"],
            ["--metric", "recall@10", "--out", "s3://bucket/x"],
        ),
        (["--SECRET"], ["--SECRET"]),  # a secret flag at the very end has no value to hide
    ],
)
def test_redact_args(args: list[str], expected: list[str]) -> None:
    assert redact_args(args) == expected


def test_environment_info_masks_secrets_on_the_command_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    argv = ["train.py", "--db-url", "postgresql://u:hunter2@h/db", "--api-key", "sk-SECRET"]
    monkeypatch.setattr(sys, "argv", argv)
    monkeypatch.setattr(sys, "orig_argv", [sys.executable, *argv])
    dumped = json.dumps(environment_info(include_packages=False))
    assert "hunter2" not in dumped and "sk-SECRET" not in dumped
    assert "--api-key '***'" in environment_info(include_packages=False)["command_line"]


def test_unparsable_remote_still_loses_its_credentials() -> None:
    assert strip_credentials("https://user:pw@[::1/x") == "https://***@[::1/x"
