"""docs/server.md documents every option, environment variable, route and metric
(as Datasette's test_docs does)."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from ragtrack.cli.server import server
from ragtrack.server import create_app, settings
from ragtrack.storage.sql import SqlStore

DOC = (Path(__file__).resolve().parents[2] / "docs" / "server.md").read_text(encoding="utf-8")


def _documented_routes() -> set[tuple[str, str]]:
    routes = set()
    for cell in re.findall(r"^\| `([A-Z, ]+ /[^`]*)` \|", DOC, flags=re.MULTILINE):
        methods, path = cell.rsplit(" ", 1)
        for method in methods.split(","):
            routes.add((method.strip(), path.split("?")[0]))
    return routes


def _served_routes() -> list[tuple[str, str]]:
    store = SqlStore("sqlite://")
    schema = create_app(store).openapi()
    store.close()
    served = [(method.upper(), path) for path, item in schema["paths"].items() for method in item]
    return [*served, ("GET", "/metrics")]


@pytest.mark.parametrize(("method", "path"), _served_routes())
def test_every_route_is_documented(method: str, path: str) -> None:
    assert (method, path) in _documented_routes(), f"{method} {path} is not in docs/server.md"


def test_no_route_is_documented_that_does_not_exist() -> None:
    assert _documented_routes() <= set(_served_routes())


def test_every_option_and_variable_is_documented() -> None:
    for param in server.params:
        if isinstance(param, click.Option) and "--help" not in param.opts:
            assert f"`{max(param.opts, key=len)} " in DOC, param.opts
            if param.envvar:
                assert f"`{param.envvar}`" in DOC, param.envvar
    for name in dir(settings):
        if name.startswith("ENV_"):
            assert f"`{getattr(settings, name)}`" in DOC, name


def test_every_metric_is_documented() -> None:
    store = SqlStore("sqlite://")
    registry = create_app(store).state.metrics.registry
    store.close()
    for family in registry.collect():
        name = family.name + ("_total" if family.type == "counter" else "")
        assert f"`{name}`" in DOC, name
