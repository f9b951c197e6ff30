"""docs/ui.md names every route of the web UI and shows screenshots that exist.

No browser needed; it sits with the browser tests because tools/screenshots.py
and these tests share the demo set-up the page describes.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ragtrack.server.ui import UI_ROUTERS

DOCS = Path(__file__).resolve().parents[3] / "docs"
PAGE = (DOCS / "ui.md").read_text(encoding="utf-8")


def _ui_paths() -> list[str]:
    paths = {route.path for router in UI_ROUTERS for route in router.routes}  # type: ignore[attr-defined]
    # A page's twin (its path + '.json') is covered by the rule that every page has one.
    return sorted(p for p in paths if not (p.endswith(".json") and p[: -len(".json")] in paths))


@pytest.mark.parametrize("path", _ui_paths())
def test_every_ui_route_is_documented(path: str) -> None:
    assert re.search(rf"`{re.escape(path)}[`?]", PAGE), f"{path} is not in docs/ui.md"


def test_every_screenshot_shown_exists_and_every_one_is_shown() -> None:
    shown = set(re.findall(r"\]\((screenshots/[^)]+\.png)\)", PAGE))
    assert shown, "docs/ui.md shows no screenshots"
    on_disk = {f"screenshots/{p.name}" for p in (DOCS / "screenshots").glob("*.png")}
    assert shown == on_disk
