"""The real entry point in a real process: exit codes and clean stderr."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import ragtrack
from ragtrack.storage import open_store

pytestmark = pytest.mark.slow

# The package may not be installed (tests run with PYTHONPATH): point the child at it.
_ROOT = str(Path(ragtrack.__file__).resolve().parent.parent)


def run_console_script(*args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [_ROOT, os.environ.get("PYTHONPATH")])),
    }
    return subprocess.run(
        [sys.executable, "-m", "ragtrack", *args],
        capture_output=True,
        stdin=subprocess.DEVNULL,  # not a terminal, whatever pytest was started from
        text=True,
        env=env,
        timeout=120,
    )


def test_exit_codes_and_no_tracebacks(tmp_path: Path) -> None:
    store = str(tmp_path)
    version = run_console_script("--version")
    assert (
        version.returncode == 0 and version.stdout == f"ragtrack, version {ragtrack.__version__}\n"
    )

    demo = run_console_script("--dir", store, "demo", "--runs", "3")
    assert demo.returncode == 0, demo.stderr
    assert "ragtrack --dir" in demo.stdout

    listed = run_console_script("--dir", store, "runs", "list", "-p", "rag-demo")
    assert listed.returncode == 0 and listed.stdout.splitlines()[-1] == "6 of 6 runs"

    missing = run_console_script("--dir", store, "runs", "show", "ffffffff")
    assert missing.returncode == 1
    assert missing.stderr == "Error: no run with an id starting with 'ffffffff'\n"

    bad_filter = run_console_script("--dir", store, "runs", "list", "--filter", "metrics.x >")
    assert bad_filter.returncode == 2
    assert bad_filter.stderr.startswith("Error: ") and "^" in bad_filter.stderr

    usage = run_console_script("--dir", store, "runs", "frobnicate")
    assert usage.returncode == 2 and "No such command 'frobnicate'" in usage.stderr

    best_id = demo.stdout.splitlines()[1].split()[3]  # "Best by recall@10: <id> <name> ..."
    refused = run_console_script("--dir", store, "runs", "delete", best_id)
    assert refused.returncode == 1 and "pass --yes" in refused.stderr

    for result in (missing, bad_filter, usage, refused):
        assert "Traceback" not in result.stderr


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    open_store(dir=tmp_path).close()
    result = run_console_script("--dir", str(tmp_path), "--debug", "runs", "show", "ffffffff")
    assert result.returncode == 1
    assert result.stderr.startswith("Traceback (most recent call last):")
    assert result.stderr.splitlines()[-1] == "Error: no run with an id starting with 'ffffffff'"
