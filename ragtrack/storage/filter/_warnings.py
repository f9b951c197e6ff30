"""Warnings about a filter that parses but names a key no run has.

``metrics.recal@10 > 0.5`` is valid filter text and matches no run: without a
word the user reads "no run is that good". A warning (not an error: a key may
yet be logged, and ``params.x is null`` over unknown keys is legitimate) says
that no run has the key and suggests the nearest known ones. The CLI prints it
on stderr, the runs table under the filter box, the REST API returns it in the
search response's ``warnings``.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ragtrack.entities import RunKeys
from ragtrack.exceptions import ProjectNotFoundError
from ragtrack.storage.filter._ast import And, Expr, Field, Not, Or
from ragtrack.storage.filter._parser import field_spans, parse_filter_text

if TYPE_CHECKING:
    from ragtrack.storage._base import Store

#: At most this many suggestions per unknown key.
MAX_SUGGESTIONS = 3
#: A search over every project reads the keys of at most this many projects
#: for its warnings (one ``list_run_keys`` each); over more, it warns of nothing.
MAX_PROJECTS_READ = 100


@dataclass(frozen=True)
class FilterWarning:
    """A key in a filter that no run in scope has, with the nearest known keys.

    Example:
        >>> w = FilterWarning("metrics.recal@10", ("metrics.recall@10",), "")
        >>> w.message
        'no run has metrics.recal@10; did you mean metrics.recall@10?'
    """

    key: str  # as written in the filter language: 'metrics.recal@10'
    suggestions: tuple[str, ...]
    scope: str  # ' of experiment "chunking"', or '' for every run searched
    field: str = "filter"  # the request parameter that names the key

    code = "UNKNOWN_KEY"

    @property
    def message(self) -> str:
        text = f"no run{self.scope} has {self.key}"
        if self.suggestions:
            text += f"; did you mean {' or '.join(self.suggestions)}?"
        return text

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "field": self.field,
            "key": self.key,
            "suggestions": list(self.suggestions),
        }


def _fields(expr: Expr) -> Iterator[Field]:
    if isinstance(expr, Not):
        yield from _fields(expr.operand)
    elif isinstance(expr, (And, Or)):
        for operand in expr.operands:
            yield from _fields(operand)
    else:
        yield expr.field


def _suggest(key: str, known: Sequence[str]) -> list[str]:
    # Nested config: 'params.chunker' names no leaf, its leaves are the suggestion.
    below = [k for k in known if k.startswith(key + ".")]
    close = difflib.get_close_matches(key, known, n=MAX_SUGGESTIONS, cutoff=0.8)
    return list(dict.fromkeys(close + below))[:MAX_SUGGESTIONS]


def unknown_keys(expr: Expr | None, keys: RunKeys, scope: str = "") -> list[FilterWarning]:
    """A warning for each params/metrics key in ``expr`` that is not in ``keys``.

    Example:
        >>> keys = RunKeys(params=("chunker.size",), metrics=("recall@10", "recall@5"))
        >>> expr = parse_filter_text("metrics.recal@10 > 0.5 and params.chunker = 512")
        >>> [w.message for w in unknown_keys(expr, keys)]  # doctest: +NORMALIZE_WHITESPACE
        ['no run has metrics.recal@10; did you mean metrics.recall@10?',
         'no run has params.chunker; did you mean params.chunker.size?']
    """
    if expr is None:
        return []
    warnings: dict[str, FilterWarning] = {}
    for field in _fields(expr):
        if field.key is None or field.name not in ("params", "metrics"):
            continue
        known = keys.params if field.name == "params" else keys.metrics
        if field.key in known:
            continue
        name = str(Field(field.name, field.key))
        suggestions = tuple(str(Field(field.name, k)) for k in _suggest(field.key, known))
        warnings.setdefault(name, FilterWarning(name, suggestions, scope))
    return list(warnings.values())


def filter_warnings(store: Store, project: str | None, filter: str | None) -> list[FilterWarning]:
    """Warnings about ``filter`` over the runs of ``project`` (every project: None).

    Reads the keys only when the filter names a param or metric: one
    ``list_run_keys`` per project searched, and none over more than
    :data:`MAX_PROJECTS_READ` projects (then no warning). A project deleted
    meanwhile is skipped. A filter that does not parse gives no warning here;
    the search itself reports the error.
    """
    if not filter or not filter.strip():
        return []
    try:
        expr = parse_filter_text(filter)
    except ValueError:
        return []
    if not any(f.name in ("params", "metrics") for f in _fields(expr)):
        return []
    if project is not None:
        try:
            return unknown_keys(expr, store.list_run_keys(project))
        except ProjectNotFoundError:
            return []  # the search answers for the project
    projects = store.list_projects()
    if len(projects) > MAX_PROJECTS_READ:
        return []  # no key scan per project on every search; no warning beats a false one
    params: set[str] = set()
    metrics: set[str] = set()
    for p in projects:
        try:
            keys = store.list_run_keys(p.name)
        except ProjectNotFoundError:
            continue  # deleted since it was listed: a warning never fails a search
        params.update(keys.params)
        metrics.update(keys.metrics)
    return unknown_keys(expr, RunKeys(tuple(sorted(params)), tuple(sorted(metrics))))


def warning_from_json(data: dict[str, Any]) -> FilterWarning:
    """The :class:`FilterWarning` of :meth:`FilterWarning.to_json`'s output."""
    suggestions = tuple(str(s) for s in data["suggestions"])
    return FilterWarning(str(data["key"]), suggestions, "", str(data.get("field", "filter")))


def unknown_param(
    key: str, known: Sequence[str], scope: str = "", field: str = "group_by"
) -> FilterWarning | None:
    """The warning for a param ``key`` (not a filter: ``group_by``) that no run
    has, with the nearest known keys, or ``None`` when some run has it.

    Example:
        >>> unknown_param("chunker.sise", ["chunker.size"]).message
        'no run has params.chunker.sise; did you mean params.chunker.size?'
    """
    if key in known:
        return None
    suggestions = tuple(str(Field("params", k)) for k in _suggest(key, known))
    return FilterWarning(str(Field("params", key)), suggestions, scope, field)


def replace_key(filter: str, key: str, replacement: str) -> str:
    """``filter`` with each field naming ``key`` (as a warning names it:
    ``metrics.loss``) rewritten to name ``replacement``; the rest of the text,
    aggregate suffixes included, stays as written.

    Example:
        >>> replace_key("metrics.loss_val < 1 or metrics.loss.min < 2", "metrics.loss",
        ...             "metrics.loss_val")
        'metrics.loss_val < 1 or metrics.loss_val.min < 2'
    """
    out = filter
    for field, start, end in reversed(field_spans(filter)):
        if str(Field(field.name, field.key)) == key:
            out = out[:start] + replacement + out[end:]
    return out
