"""The pages under their Content-Security-Policy, and the API docs offline.

Every page kind is loaded with a listener for ``securitypolicyviolation``: the
pages' scripts all come from files on the server (no inline script, no
``on*=`` handler), so nothing may be refused; an inline script injected on
purpose must be (the policy is really in force). ``/docs`` draws Swagger UI
with nothing from another origin.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from test_browser_every_page import PAGES

if TYPE_CHECKING:
    from conftest import PageWatch, UiServer
    from playwright.sync_api import Page

pytestmark = pytest.mark.slow

# Installed before any page script runs (Playwright's init scripts are exempt
# from the page's policy): records what the policy refused.
_RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}`);
});
"""

_INJECT_INLINE = """() => new Promise((resolve) => {
  window.__inlineRan = false;
  const script = document.createElement("script");
  script.textContent = "window.__inlineRan = true";
  document.body.appendChild(script);
  setTimeout(() => resolve(window.__inlineRan), 100);
})"""


@pytest.mark.parametrize("name", list(PAGES))
def test_pages_work_under_the_policy(
    page: Page, page_watch: PageWatch, ui_server: UiServer, name: str
) -> None:
    page.add_init_script(_RECORD_VIOLATIONS)
    response = page.goto(PAGES[name](ui_server))
    assert response is not None
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"
    page_watch.settle()
    for tab in page.get_by_role("tab").all():  # the run page draws charts per tab
        tab.click()
        page_watch.settle()
    assert page.evaluate("window.__cspViolations") == []
    # The policy is in force: an inline script is refused (and reported).
    assert page.evaluate(_INJECT_INLINE) is False
    assert any("script-src" in v for v in page.evaluate("window.__cspViolations"))
    page_watch.problems[:] = [p for p in page_watch.problems if "Content Security Policy" not in p]


def test_api_docs_draw_offline(page: Page, page_watch: PageWatch, ui_server: UiServer) -> None:
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.add_init_script(_RECORD_VIOLATIONS)
    page.goto("/docs")
    page.get_by_text("/api/v1/runs/{run_id}/heartbeat").first.wait_for()
    page_watch.settle()
    assert requested and all(url.startswith(ui_server.url + "/") for url in requested), requested
    assert page.evaluate("window.__cspViolations") == []
