"""`import ragtrack` stays light: a script or tool that imports it pays for numpy,
SQLAlchemy and the rest only when it uses them, and reading runs never needs numpy
or Alembic (docs/benchmarks.md, workload 10)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ["alembic", "click", "fastapi", "numpy", "psutil", "sqlalchemy"]


def python(code: str) -> str:
    """What a fresh interpreter running ``code`` prints."""
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=120,
        check=True,
    )
    return done.stdout


def loaded_after(code: str) -> list[str]:
    """Which HEAVY modules a fresh interpreter holds after running ``code``."""
    report = f"import json, sys; print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    found: list[str] = json.loads(python(f"{code}\n{report}").splitlines()[-1])
    return found


def test_import_ragtrack_loads_no_heavy_dependency() -> None:
    assert loaded_after("import ragtrack") == []


def test_the_public_api_is_there_on_first_use(tmp_path: Path) -> None:
    code = f"""
import ragtrack
assert ragtrack.__version__
assert {{"init", "Run", "track", "Api", "RunStatus", "current_run"}} <= set(dir(ragtrack))
with ragtrack.init(project="p", dir={str(tmp_path)!r}, capture=False) as run:
    assert isinstance(run, ragtrack.Run) and ragtrack.current_run() is run
    run.log({{"loss": 0.5}})
assert ragtrack.Api({str(tmp_path)!r}).run(run.id).status == ragtrack.RunStatus.COMPLETED
from ragtrack import track, CaptureSettings, RagtrackError, ApiRun
"""
    assert set(loaded_after(code)) >= {"numpy", "sqlalchemy"}


def test_searching_or_listing_runs_needs_neither_numpy_nor_alembic(tmp_path: Path) -> None:
    python(f"import ragtrack; ragtrack.init(project='p', dir={str(tmp_path)!r}, capture=False)")
    search = (
        f"import ragtrack\napi = ragtrack.Api({str(tmp_path)!r})\n"
        "assert len(api.runs('p', filter='metrics.loss < 1', order_by='-metrics.loss')) == 0"
    )
    runs_list = (
        f"import sys; sys.argv = ['ragtrack', '--dir', {str(tmp_path)!r}, 'runs', 'list']\n"
        "from ragtrack.cli import main\n"
        "try:\n    main()\nexcept SystemExit as e:\n    assert not e.code\n"
    )

    assert loaded_after(search) == ["sqlalchemy"]
    assert loaded_after(runs_list) == ["click", "sqlalchemy"]


def test_an_unknown_attribute_is_an_attribute_error() -> None:
    code = "import ragtrack\ntry:\n    ragtrack.nope\nexcept AttributeError as e:\n    print(e)"
    assert "has no attribute 'nope'" in python(code)
