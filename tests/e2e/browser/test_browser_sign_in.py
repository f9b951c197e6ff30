"""Signing in and out of a server with a token, in a real browser: the form
works from the server's own pages, and a page of another origin on the same
host (the same *site*, so the SameSite=Strict cookie goes along) cannot sign
the browser out."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from conftest import PageWatch, UiServer
    from playwright.sync_api import BrowserContext, Page

pytestmark = pytest.mark.slow

TOKEN = "browser-sign-in-3c9e"


@pytest.fixture(scope="module")
def token_server(
    ui_server: UiServer, serve: Callable[..., AbstractContextManager[str]]
) -> Iterator[str]:
    """``ragtrack server`` with a token over the demo store, on loopback."""
    env = {**os.environ, "RAGTRACK_SERVER_TOKEN": TOKEN}
    args = ["server", "--store", str(ui_server.dir)]
    with serve(args, ui_server.log.with_name("token-server.log"), env) as url:
        yield url


@pytest.fixture
def signed_out(browser_context: BrowserContext) -> Iterator[None]:
    browser_context.clear_cookies()
    yield
    browser_context.clear_cookies()  # the other tests' server has no token


def _sign_in(page: Page, url: str) -> None:
    page.goto(f"{url}/projects/rag-demo")
    assert page.url.startswith(f"{url}/login")
    page.get_by_label("Token").fill(TOKEN)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{url}/projects/rag-demo")


def test_sign_in_and_out_from_the_servers_pages(
    page: Page, token_server: str, signed_out: None
) -> None:
    _sign_in(page, token_server)
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{token_server}/login")
    page.goto(f"{token_server}/projects/rag-demo")
    assert page.url.startswith(f"{token_server}/login")  # signed out for real


def test_another_origin_on_the_same_host_cannot_sign_out(
    page: Page, page_watch: PageWatch, token_server: str, signed_out: None
) -> None:
    _sign_in(page, token_server)
    # A page on another port of this host: the same site, another origin.
    attacker = "http://127.0.0.1:9/attack.html"
    page.route(
        attacker,
        lambda route: route.fulfill(
            content_type="text/html",
            body=f'<form id="f" method="post" action="{token_server}/logout"></form>'
            "<script>document.getElementById('f').submit()</script>",
        ),
    )
    page_watch.expect_status(403, r"/logout$")
    page.goto(attacker)
    page.wait_for_url(f"{token_server}/logout")
    assert "PERMISSION_DENIED" in page.content()
    page.goto(f"{token_server}/projects/rag-demo")
    assert page.url == f"{token_server}/projects/rag-demo"  # still signed in
    assert page.get_by_role("button", name="Sign out").count() == 1
