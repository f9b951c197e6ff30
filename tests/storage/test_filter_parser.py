"""The runs filter language: grammar, quoting, values, errors and fuzzing."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ragtrack.entities import RunStatus
from ragtrack.exceptions import InvalidFilterError
from ragtrack.storage._keys import key_problem
from ragtrack.storage.filter import (
    MAX_DEPTH,
    MAX_FILTER_LENGTH,
    And,
    Comparison,
    Contains,
    Expr,
    Field,
    InList,
    IsNull,
    Not,
    Or,
    OrderKey,
    Value,
    parse_filter,
    parse_order_by,
)

LR = Field("params", "lr")
LOSS = Field("metrics", "loss")


def cmp(field: Field, op: str, value: Value) -> Comparison:
    return Comparison(field, op, value)  # type: ignore[arg-type]


def parse(text: str) -> Expr:
    expr = parse_filter(text)
    assert expr is not None
    return expr


def error_of(text: str) -> InvalidFilterError:
    with pytest.raises(InvalidFilterError) as info:
        parse_filter(text)
    return info.value


# -- grammar ----------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "   ", "\n\t "])
def test_blank_filter_is_none(text: str) -> None:
    assert parse_filter(text) is None


def test_and_binds_tighter_than_or() -> None:
    a, b, c = (cmp(Field("params", k), "=", 1.0) for k in "abc")
    assert parse("params.a = 1 or params.b = 1 and params.c = 1") == Or((a, And((b, c))))
    assert parse("params.a = 1 and params.b = 1 or params.c = 1") == Or((And((a, b)), c))


def test_not_binds_tighter_than_and_but_looser_than_comparison() -> None:
    a, b = cmp(Field("params", "a"), "=", 1.0), cmp(Field("params", "b"), "=", 1.0)
    assert parse("not params.a = 1 and params.b = 1") == And((Not(a), b))
    assert parse("not (params.a = 1 and params.b = 1)") == Not(And((a, b)))
    assert parse("not not params.a = 1") == Not(Not(a))


def test_parentheses_override_precedence_and_chains_stay_flat() -> None:
    a, b, c = (cmp(Field("params", k), "=", 1.0) for k in "abc")
    assert parse("(params.a = 1 or params.b = 1) and params.c = 1") == And((Or((a, b)), c))
    assert parse("params.a = 1 and params.b = 1 and params.c = 1") == And((a, b, c))
    assert parse("((params.a = 1))") == a


def test_keywords_and_field_names_are_case_insensitive() -> None:
    expr = parse('STATUS = "running" AND Tags Is Not Null Or NOT name CONTAINS "x"')
    assert str(expr) == '(status = "running" and tags is not null) or not name contains "x"'


@pytest.mark.parametrize("op", ["=", "==", "!=", "<", "<=", ">", ">="])
def test_comparison_operators(op: str) -> None:
    assert parse(f"params.lr {op} 0.5") == cmp(LR, "=" if op == "==" else op, 0.5)
    assert parse(f"params.lr{op}0.5") == cmp(LR, "=" if op == "==" else op, 0.5)


def test_list_contains_and_null_conditions() -> None:
    assert parse("params.k in (1, 'a', true)") == InList(Field("params", "k"), (1.0, "a", True))
    assert parse("tags not in ('a')") == InList(Field("tags"), ("a",), negated=True)
    assert parse("name contains 'bm25'") == Contains(Field("name"), "bm25")
    assert parse("metrics.loss is null") == IsNull(LOSS)
    assert parse("metrics.loss is not null") == IsNull(LOSS, negated=True)
    assert parse("params.lr = null") == IsNull(LR)
    assert parse("params.lr != NULL") == IsNull(LR, negated=True)


# -- fields and keys --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("params.retriever.top_k", Field("params", "retriever.top_k")),
        ("params.loss.min", Field("params", "loss.min")),
        ("params.модель", Field("params", "модель")),
        ("params.a-b/c@d:e+f%g_h", Field("params", "a-b/c@d:e+f%g_h")),
        ("metrics.recall@10", Field("metrics", "recall@10", "value")),
        ("metrics.eval/ndcg@10.max", Field("metrics", "eval/ndcg@10", "max")),
        ("metrics.loss.min", Field("metrics", "loss", "min")),
        ("metrics.loss.last", Field("metrics", "loss", "last")),
        ("metrics.loss.count", Field("metrics", "loss", "count")),
        ("metrics.`loss.min`", Field("metrics", "loss.min", "value")),
        ("metrics.`loss`.min", Field("metrics", "loss", "min")),
        ("metrics.`my key (v2)`", Field("metrics", "my key (v2)")),
        ("metrics.`my key (v2)`.max", Field("metrics", "my key (v2)", "max")),
        ("metrics.`a``b`", Field("metrics", "a`b")),
        ("metrics.min", Field("metrics", "min")),
        ("params.`a b`.c", Field("params", "a b.c")),
        ("params.`x = 1 and y`", Field("params", "x = 1 and y")),
        ("metrics.`🙂`", Field("metrics", "🙂")),
        ("metrics.नमस्ते", Field("metrics", "नमस्ते")),
    ],
)
def test_field_keys(text: str, field: Field) -> None:
    assert parse(f"{text} is null") == IsNull(field)
    assert parse(f"{field} is null") == IsNull(field)


@pytest.mark.parametrize(
    "name",
    ["tags", "status", "name", "id", "experiment", "project", "started", "ended", "duration"],
)
def test_simple_fields(name: str) -> None:
    value = {"status": '"completed"', "started": "1", "ended": "1", "duration": "1"}.get(
        name, '"x"'
    )
    expr = parse(f"{name} != {value}")
    assert isinstance(expr, Comparison) and expr.field == Field(name)  # type: ignore[arg-type]


# -- literals ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("literal", "value"),
    [
        ("5", 5.0),
        ("-5", -5.0),
        ("+5", 5.0),
        ("0.25", 0.25),
        (".5", 0.5),
        ("5.", 5.0),
        ("1e-5", 1e-5),
        ("-2.5E+3", -2500.0),
        ("inf", math.inf),
        ("-inf", -math.inf),
        ("INF", math.inf),
        ("-Infinity", -math.inf),
    ],
)
def test_numbers(literal: str, value: float) -> None:
    assert parse(f"metrics.loss < {literal}") == cmp(LOSS, "<", value)


@pytest.mark.parametrize(
    ("literal", "value"),
    [
        ('"bert"', "bert"),
        ("'bert'", "bert"),
        ('"it\'s"', "it's"),
        (r"'it\'s'", "it's"),
        (r'"say \"hi\""', 'say "hi"'),
        (r'"a\\b"', "a\\b"),
        (r'"line\nnext\ttab\r"', "line\nnext\ttab\r"),
        (r'"\u00e9t\u00E9"', "été"),
        ('"模型 ü"', "模型 ü"),
        ('""', ""),
        ('"5"', "5"),
    ],
)
def test_strings(literal: str, value: str) -> None:
    assert parse(f"params.model = {literal}") == cmp(Field("params", "model"), "=", value)


def test_booleans_are_params_values() -> None:
    assert parse("params.flag = TRUE") == cmp(Field("params", "flag"), "=", True)
    assert parse("params.flag != false") == cmp(Field("params", "flag"), "!=", False)


@pytest.mark.parametrize(
    ("literal", "epoch"),
    [
        ('"2024-05-01"', 1714521600.0),
        ('"2024-05-01T12:00:00"', 1714564800.0),
        ('"2024-05-01T12:00:00Z"', 1714564800.0),
        ('"2024-05-01 14:00:00+02:00"', 1714564800.0),
        ("1714564800", 1714564800.0),
        ("1.5e9", 1.5e9),
    ],
)
def test_times_accept_iso_dates_and_epoch_numbers(literal: str, epoch: float) -> None:
    for name in ("created", "started", "ended"):
        assert parse(f"{name} >= {literal}") == cmp(Field(name), ">=", epoch)


def test_status_values_are_checked_and_lowercased() -> None:
    for status in RunStatus:
        assert parse(f"status = '{status.value.upper()}'") == cmp(
            Field("status"), "=", status.value
        )
    error = error_of('status in ("running", "finished")')
    assert error.position == 22
    assert "unknown status 'finished'" in error.reason
    assert all(s.value in error.reason for s in RunStatus)


# -- errors -----------------------------------------------------------------------

ERRORS = [
    ("metrics.loss = nan", 15, "NaN never compares equal"),
    ("metrics.loss > -NaN", 15, "NaN is not allowed"),
    ('name = "abc', 7, 'unterminated string; expected a closing "'),
    ("name = 'abc", 7, "unterminated string; expected a closing '"),
    ("metrics.`abc = 1", 8, "unterminated quoted key"),
    ("params.lr < 0.1 garbage", 16, "expected 'and', 'or' or end of filter, got 'garbage'"),
    ("foo = 1", 0, "unknown field 'foo'; expected one of params.<key>"),
    ("status.x = 1", 0, "unknown field 'status.x'"),
    ("params = 1", 6, "expected '.' and a key after 'params'"),
    ("params. = 1", 7, "expected a key after 'params.'"),
    ("metrics..min = 1", 8, "expected a key after 'metrics.'"),
    ("metrics.` x` = 1", 8, "starts or ends with whitespace"),
    ("metrics." + "k" * 251 + " = 1", 8, "251 characters long; the limit is 250"),
    ("metrics.loss <", 14, "expected a value (a number, a quoted string, true, false or null)"),
    ("metrics.loss", 12, "expected an operator after metrics.loss"),
    ("metrics.loss 5", 13, "expected an operator"),
    ("(metrics.loss < 1", 17, "expected ')' to close the '(' at position 0"),
    ("metrics.loss < 1)", 16, "expected 'and', 'or' or end of filter, got ')'"),
    ('name ~ "x"', 5, "unexpected character '~'"),
    ('name ! "x"', 5, "expected '=' after '!'"),
    ('status < "running"', 7, "status does not support '<'; it supports =, !=, in, not in"),
    ('metrics.loss contains "x"', 13, "contains works on text"),
    ('metrics.loss = "0.5"', 15, "metrics.loss is a number; expected a number"),
    ("duration > true", 11, "duration is a number"),
    ("name = 5", 7, 'name is text; expected a quoted string, e.g. "5"'),
    ("tags = true", 7, "tags is text"),
    ('created > "yesterday"', 10, "invalid date 'yesterday'; expected an ISO-8601 date"),
    ("started < false", 10, "started is a time"),
    ("params.x in ()", 13, "expected a value"),
    ("params.x in (1, null)", 16, "null cannot be in a list; add 'or params.x is null'"),
    ("params.x in (1,)", 15, "expected a value"),
    ("params.x in (1 2)", 15, "expected ',' or ')' in the list"),
    ('name in "a"', 8, "expected '(' to start a list"),
    ("params.x not (1)", 13, "expected 'in' after 'not'"),
    ("params.x is 1", 12, "expected 'null' or 'not null' after 'is'"),
    ("params.x is not 1", 16, "expected 'null' after 'is'"),
    ("params.x < null", 11, "null can only be compared with =, != or 'is'"),
    ("params.x < true", 11, "true and false can only be compared with =, !=, in and not in"),
    ("params.x contains 5", 18, "expected a quoted string after 'contains'"),
    ("and params.x = 1", 0, "expected a condition"),
    ("()", 1, "expected a condition"),
    ("not", 3, "expected a condition"),
    ("params.x = 1 or", 15, "expected a condition"),
    (r'name = "a\qb"', 9, "unknown escape '\\q'"),
    (r'name = "\u12"', 8, "expected 4 hex digits after '\\u'"),
    (r'name = "\ud800"', 8, "surrogate character is not allowed"),
    (r'name = "\u0000"', 8, "NUL"),
    ("metrics.x > 1e999", 12, "too large; use inf or -inf"),
    ('name = "a\x00"', 9, "a NUL character is not allowed"),
    ("name = \ud800", 7, "a lone surrogate character is not allowed"),
    ("status is null", 7, "status does not support 'is null' (it always has a value)"),
    ('tags > "a"', 5, "tags does not support '>'"),
    ('status = "failed" or name contains "a" and created is not null', 51, "created does not"),
    ("status = running", 9, "; quote text values"),
    ("params.lr = 0.1.2", 12, "expected a value"),
    ("params.lr = 5abc", 12, "quote text values"),
    ("metrics.loss = 1 and `x` = 1", 21, "expected a condition"),
    ("metrics.loss = 1 and 'x' = 1", 21, "expected a condition"),
    ("name = 'a' 'b'", 11, "expected 'and', 'or' or end of filter"),
]


@pytest.mark.parametrize(("text", "position", "reason"), ERRORS)
def test_errors_point_at_the_offending_character(text: str, position: int, reason: str) -> None:
    error = error_of(text)
    assert reason in error.reason
    assert error.position == position
    assert error.text == text
    assert error.code == "INVALID_FILTER"
    assert f"at position {position}" in str(error)


def test_nesting_is_capped() -> None:
    ok = "(" * MAX_DEPTH + "name = 'a'" + ")" * MAX_DEPTH
    assert parse(ok) == cmp(Field("name"), "=", "a")
    error = error_of("(" * (MAX_DEPTH + 1) + "name = 'a'" + ")" * (MAX_DEPTH + 1))
    assert error.position == MAX_DEPTH
    assert "nests deeper than 64" in error.reason
    error = error_of("not " * 100 + "name = 'a'")
    assert error.position == 4 * MAX_DEPTH
    error = error_of("(not " * 40 + "name = 'a'")
    assert error.position == 5 * 32
    error = error_of("(" * (MAX_FILTER_LENGTH - 1))
    assert error.position == MAX_DEPTH


def test_length_is_capped() -> None:
    text = "name = '" + "a" * MAX_FILTER_LENGTH + "'"
    error = error_of(text)
    assert error.position == MAX_FILTER_LENGTH
    assert "longer than 10000 characters" in error.reason
    assert len(error.text) == MAX_FILTER_LENGTH + 1  # the message stays bounded
    assert parse_filter("name = '" + "a" * (MAX_FILTER_LENGTH - 9) + "'") is not None


def test_non_str_filter_is_rejected() -> None:
    with pytest.raises(InvalidFilterError, match="must be a str"):
        parse_filter(b"name = 'a'")  # type: ignore[arg-type]


# -- order by ---------------------------------------------------------------------


def test_order_by_strings_and_lists() -> None:
    recall = Field("metrics", "recall@10")
    assert parse_order_by("-metrics.recall@10, params.lr") == [
        OrderKey(recall, descending=True),
        OrderKey(LR),
    ]
    assert parse_order_by(["name desc", "+created", "- duration", "metrics.loss.min ASC", ""]) == [
        OrderKey(Field("name"), True),
        OrderKey(Field("created")),
        OrderKey(Field("duration"), True),
        OrderKey(Field("metrics", "loss", "min")),
    ]
    assert parse_order_by("metrics.`a,b` desc,-params.модель") == [
        OrderKey(Field("metrics", "a,b"), True),
        OrderKey(Field("params", "модель"), True),
    ]
    for blank in (None, "", "  ", [], [" "]):
        assert parse_order_by(blank) == []


@pytest.mark.parametrize(
    ("spec", "position", "reason"),
    [
        ("tags", 0, "cannot order by tags"),
        ("-tags", 1, "cannot order by tags"),
        ("-name desc", 6, "either a '+'/'-' prefix or 'asc'/'desc'"),
        ("name,", 5, "expected a field to order by, got end of input"),
        (",name", 0, "expected a field to order by, got ','"),
        ("name sideways", 5, "expected ',', 'asc', 'desc' or end of input"),
        ("-", 1, "expected a field to order by"),
        ("colour", 0, "unknown field 'colour'"),
        ("metrics.", 8, "expected a key after 'metrics.'"),
    ],
)
def test_order_by_errors(spec: str, position: int, reason: str) -> None:
    with pytest.raises(InvalidFilterError) as info:
        parse_order_by(spec)
    assert reason in info.value.reason
    assert info.value.position == position


def test_order_by_rejects_non_strings() -> None:
    with pytest.raises(InvalidFilterError, match="must be str"):
        parse_order_by([1])  # type: ignore[list-item]


# -- fuzzing ----------------------------------------------------------------------

FRAGMENTS = [
    "params.lr", "metrics.loss.min", "metrics.`a b`", "tags", "status", "name", "created",
    "duration", "experiment", "=", "!=", "<", ">=", "in", "not", "and", "or", "is", "null",
    "contains", "(", ")", ",", "'x'", '"running"', "1", "-inf", "nan", "true", "`", "'", "\\",
    "\x00", "\ud800", "é", "2024-05-01", "params.", ".", "-", " ",
]  # fmt: skip


@settings(max_examples=500)
@given(st.text(alphabet=st.characters(exclude_categories=()), max_size=60))
def test_arbitrary_text_parses_or_raises_invalid_filter(text: str) -> None:
    try:
        parse_filter(text)
    except InvalidFilterError as e:
        assert 0 <= e.position <= len(text)


@settings(max_examples=500)
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=25))
def test_token_soup_parses_or_raises_invalid_filter(fragments: list[str]) -> None:
    text = " ".join(fragments)
    try:
        expr = parse_filter(text)
    except InvalidFilterError as e:
        assert 0 <= e.position <= len(text)
    else:
        if expr is not None:
            assert parse_filter(str(expr)) == expr


@settings(max_examples=200)
@given(st.text(max_size=40))
def test_arbitrary_order_specs_parse_or_raise_invalid_filter(text: str) -> None:
    try:
        keys = parse_order_by(text)
    except InvalidFilterError as e:
        assert 0 <= e.position <= len(text)
    else:
        assert parse_order_by(", ".join(str(k) for k in keys)) == keys


# -- round trip of random valid expressions ---------------------------------------

# Every character a filter can hold: no NUL, no lone surrogates.
storable = st.characters(codec="utf-8", exclude_characters="\x00")
keys = st.text(storable, min_size=1, max_size=12).filter(lambda k: key_problem(k) is None)
strings = st.text(storable, max_size=12)
numbers = st.floats(allow_nan=False)
compare_ops = st.sampled_from(["=", "!=", "<", "<=", ">", ">="])
statuses = st.sampled_from([s.value for s in RunStatus])


def leaves(
    field: Field, values: st.SearchStrategy[Value], ops: list[str]
) -> st.SearchStrategy[Expr]:
    options: list[st.SearchStrategy[Expr]] = []
    if "<" in ops:
        options.append(st.builds(Comparison, st.just(field), compare_ops, values))
    else:
        options.append(st.builds(Comparison, st.just(field), st.sampled_from(["=", "!="]), values))
    options.append(
        st.builds(
            InList,
            st.just(field),
            st.lists(values, min_size=1, max_size=3).map(tuple),
            st.booleans(),
        )
    )
    if "contains" in ops:
        options.append(st.builds(Contains, st.just(field), strings))
    if "null" in ops:
        options.append(st.builds(IsNull, st.just(field), st.booleans()))
    return st.one_of(options)


@st.composite
def leaf_exprs(draw: st.DrawFn) -> Expr:
    kind = draw(
        st.sampled_from(["params", "metrics", "tags", "status", "text", "experiment", "time"])
    )
    if kind == "params":
        field = Field("params", draw(keys))
        return draw(
            st.one_of(
                leaves(field, st.one_of(numbers, strings), ["<", "contains", "null"]),
                st.builds(Comparison, st.just(field), st.sampled_from(["=", "!="]), st.booleans()),
            )
        )
    if kind == "metrics":
        aggregate = draw(st.sampled_from(["value", "last", "min", "max", "count"]))
        return draw(leaves(Field("metrics", draw(keys), aggregate), numbers, ["<", "null"]))  # type: ignore[arg-type]
    if kind == "tags":
        return draw(leaves(Field("tags"), strings, ["contains", "null"]))
    if kind == "status":
        return draw(leaves(Field("status"), statuses, []))
    if kind == "text":
        name = draw(st.sampled_from(["name", "id", "project"]))
        return draw(leaves(Field(name), strings, ["<", "contains"]))  # type: ignore[arg-type]
    if kind == "experiment":
        return draw(leaves(Field("experiment"), strings, ["<", "contains", "null"]))
    name = draw(st.sampled_from(["started", "ended", "duration"]))
    return draw(leaves(Field(name), numbers, ["<", "null"]))  # type: ignore[arg-type]


exprs = st.recursive(
    leaf_exprs(),
    lambda children: st.one_of(
        st.lists(children, min_size=2, max_size=3).map(lambda xs: And(tuple(xs))),
        st.lists(children, min_size=2, max_size=3).map(lambda xs: Or(tuple(xs))),
        children.map(Not),
    ),
    max_leaves=8,
)


@settings(max_examples=300)
@given(exprs)
def test_random_valid_expressions_round_trip(expr: Expr) -> None:
    assert parse_filter(str(expr)) == expr


@settings(max_examples=100)
@given(
    st.lists(
        st.builds(OrderKey, st.builds(Field, st.just("params"), keys), st.booleans()),
        min_size=1,
        max_size=3,
    )
)
def test_random_order_keys_round_trip(order: list[OrderKey]) -> None:
    assert parse_order_by([str(k) for k in order]) == order
    assert parse_order_by(", ".join(str(k) for k in order)) == order


def test_examples_in_the_docs_parse() -> None:
    import ast
    import re
    from pathlib import Path

    doc = (Path(__file__).parents[2] / "docs" / "filter.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```text\n(.*?)```", doc, re.S)
    lines = [line for b in blocks if "^" not in b for line in b.splitlines() if line.strip()]
    assert len(lines) > 15
    for line in lines:
        assert parse_filter(line) is not None
    for spec in re.findall(r'order_by=("[^"]*"|\[[^\]]*\])', doc):
        assert parse_order_by(ast.literal_eval(spec))
