"""Recursive-descent parser of runs filters (order-by specs reuse it in ``_order.py``).

Grammar (keywords are case-insensitive)::

    filter     := or_expr EOF
    or_expr    := and_expr ("or" and_expr)*
    and_expr   := not_expr ("and" not_expr)*
    not_expr   := "not" not_expr | primary
    primary    := "(" or_expr ")" | field condition
    condition  := op literal | ["not"] "in" "(" literal ("," literal)* ")"
                | "contains" string | "is" ["not"] "null"
    field      := "params." key | "metrics." key [aggregate] | simple_field

Nesting of parentheses and ``not`` is capped so that hostile input fails with
InvalidFilterError instead of RecursionError.
"""

from __future__ import annotations

import math
import re
from typing import NamedTuple, NoReturn, cast

from ragtrack.exceptions import InvalidFilterError
from ragtrack.storage._keys import key_problem
from ragtrack.storage.filter import _fields
from ragtrack.storage.filter._ast import (
    AGGREGATE_SUFFIXES,
    Aggregate,
    And,
    CompareOp,
    Comparison,
    Contains,
    Expr,
    Field,
    FieldName,
    InList,
    IsNull,
    Not,
    Or,
    Value,
)
from ragtrack.storage.filter._lexer import Token, TokenKind, tokenize

#: Deepest allowed nesting of parentheses and ``not``.
MAX_DEPTH = 64

_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[+-]?inf(?:inity)?", re.I)
_NAN = re.compile(r"[+-]?nan", re.I)
_KEYWORDS = frozenset({"and", "or", "not", "in", "contains", "is", "null", "true", "false"})
_OPERATORS_HINT = "=, !=, <, <=, >, >=, in, not in, contains, is null or is not null"


class _Literal(NamedTuple):
    kind: _fields.LiteralKind | None  # None for null
    value: Value
    pos: int


class FilterParser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0
        self.depth = 0
        # Where each params/metrics field is written: (field, start, end), the
        # text[start:end] being 'metrics.loss' of 'metrics.loss.min' (no aggregate).
        self.spans: list[tuple[Field, int, int]] = []

    # -- cursor -------------------------------------------------------------------

    def peek(self) -> Token:
        return self.tokens[self.i]

    def advance(self) -> Token:
        tok = self.tokens[self.i]
        if tok.kind is not TokenKind.EOF:
            self.i += 1
        return tok

    def at_keyword(self, *words: str) -> bool:
        tok = self.peek()
        return tok.kind is TokenKind.WORD and tok.value.lower() in words

    def fail(self, reason: str, pos: int) -> NoReturn:
        raise InvalidFilterError(reason, self.text, pos)

    def describe(self, tok: Token) -> str:
        return "end of input" if tok.kind is TokenKind.EOF else repr(self.text[tok.pos : tok.end])

    def enter(self, tok: Token) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            self.fail(f"filter nests deeper than {MAX_DEPTH} levels of '(' and 'not'", tok.pos)

    # -- boolean structure --------------------------------------------------------

    def parse_filter(self) -> Expr:
        expr = self.parse_or()
        tok = self.peek()
        if tok.kind is not TokenKind.EOF:
            self.fail(f"expected 'and', 'or' or end of filter, got {self.describe(tok)}", tok.pos)
        return expr

    def parse_or(self) -> Expr:
        operands = [self.parse_and()]
        while self.at_keyword("or"):
            self.advance()
            operands.append(self.parse_and())
        return operands[0] if len(operands) == 1 else Or(tuple(operands))

    def parse_and(self) -> Expr:
        operands = [self.parse_not()]
        while self.at_keyword("and"):
            self.advance()
            operands.append(self.parse_not())
        return operands[0] if len(operands) == 1 else And(tuple(operands))

    def parse_not(self) -> Expr:
        if not self.at_keyword("not"):
            return self.parse_primary()
        self.enter(self.advance())
        operand = self.parse_not()
        self.depth -= 1
        return Not(operand)

    def parse_primary(self) -> Expr:
        tok = self.peek()
        if tok.kind is TokenKind.LPAREN:
            self.enter(self.advance())
            expr = self.parse_or()
            close = self.peek()
            if close.kind is not TokenKind.RPAREN:
                self.fail(
                    f"expected ')' to close the '(' at position {tok.pos}, "
                    f"got {self.describe(close)}",
                    close.pos,
                )
            self.advance()
            self.depth -= 1
            return expr
        if tok.kind is TokenKind.WORD and tok.value.lower() not in _KEYWORDS:
            return self.parse_condition(self.parse_field(tok))
        self.fail(
            f"expected a condition such as metrics.loss < 0.5, 'not' or '(', "
            f"got {self.describe(tok)}",
            tok.pos,
        )

    # -- fields -------------------------------------------------------------------

    def parse_field(self, tok: Token, skip: int = 0) -> Field:
        """The field starting ``skip`` characters into word ``tok`` (which is consumed)."""
        self.advance()
        head, pos = tok.value[skip:], tok.pos + skip
        name, dot, rest = head.partition(".")
        lname = name.lower()
        if lname in ("params", "metrics"):
            if not dot:
                self.fail(f"expected '.' and a key after {name!r}, e.g. {lname}.lr", tok.end)
            return self.parse_keyed_field(cast(FieldName, lname), rest, pos + len(name) + 1, tok)
        if lname in _fields.SIMPLE_FIELDS and not dot:
            return Field(lname)
        self.fail(f"unknown field {head!r}; expected one of {_fields.FIELDS_HINT}", pos)

    def parse_keyed_field(self, name: FieldName, rest: str, key_pos: int, tok: Token) -> Field:
        # Pieces that touch (no whitespace between) form one key: metrics.`a b`.min
        pieces: list[tuple[str, bool]] = [(rest, False)] if rest else []
        end = tok.end
        nxt = self.peek()
        while nxt.pos == end and nxt.kind in (TokenKind.WORD, TokenKind.QUOTED_KEY):
            self.advance()
            pieces.append((nxt.value, nxt.kind is TokenKind.QUOTED_KEY))
            end, nxt = nxt.end, self.peek()
        aggregate: Aggregate | None = None
        if name == "metrics":
            aggregate = "value"
            if pieces and not pieces[-1][1]:
                last = pieces[-1][0]
                for suffix in AGGREGATE_SUFFIXES:
                    if last.endswith(f".{suffix}"):
                        aggregate = suffix
                        pieces[-1] = (last[: -len(suffix) - 1], False)
                        end -= len(suffix) + 1
                        break
        key = "".join(p for p, _ in pieces)
        problem = key_problem(key)
        if problem == "it is empty":
            self.fail(f"expected a key after '{name}.', e.g. {name}.lr", key_pos)
        if problem is not None:
            self.fail(f"invalid {name[:-1]} key {key!r}: {problem}", key_pos)
        field = Field(name, key, aggregate)
        self.spans.append((field, key_pos - len(name) - 1, end))
        return field

    # -- conditions ---------------------------------------------------------------

    def parse_condition(self, field: Field) -> Expr:
        tok = self.peek()
        if tok.kind is TokenKind.OPERATOR:
            self.advance()
            op = cast(CompareOp, "=" if tok.value == "==" else tok.value)
            self.check_operator(field, op, tok)
            lit = self.parse_literal()
            if lit.kind is None:
                if op not in ("=", "!="):
                    self.fail("null can only be compared with =, != or 'is'", lit.pos)
                self.check_operator(field, "is null", tok)
                return IsNull(field, negated=op == "!=")
            return Comparison(field, op, self.coerce(field, op, lit))
        if self.at_keyword("in", "not"):
            negated = self.advance().value.lower() == "not"
            if negated and not self.at_keyword("in"):
                self.fail(
                    f"expected 'in' after 'not', got {self.describe(self.peek())} "
                    "(to negate a condition, put 'not' before the field)",
                    self.peek().pos,
                )
            if negated:
                self.advance()
            self.check_operator(field, "not in" if negated else "in", tok)
            values = tuple(self.coerce(field, "in", lit) for lit in self.parse_list())
            return InList(field, values, negated)
        if self.at_keyword("contains"):
            self.check_operator(field, "contains", self.advance())
            lit = self.parse_literal()
            if lit.kind != "string":
                self.fail("expected a quoted string after 'contains'", lit.pos)
            return Contains(field, str(lit.value))
        if self.at_keyword("is"):
            self.advance()
            negated = self.at_keyword("not")
            if negated:
                self.advance()
            if not self.at_keyword("null"):
                expected = "'null'" if negated else "'null' or 'not null'"
                self.fail(f"expected {expected} after 'is'", self.peek().pos)
            self.advance()
            self.check_operator(field, "is null", tok)
            return IsNull(field, negated)
        self.fail(
            f"expected an operator after {field} ({_OPERATORS_HINT}), got {self.describe(tok)}",
            tok.pos,
        )

    def check_operator(self, field: Field, op: _fields.Operator, tok: Token) -> None:
        problem = _fields.operator_problem(field, op)
        if problem is not None:
            self.fail(problem, tok.pos)

    def coerce(self, field: Field, op: _fields.Operator, lit: _Literal) -> Value:
        if lit.kind is None:
            self.fail(f"null cannot be in a list; add 'or {field} is null' instead", lit.pos)
        try:
            return _fields.coerce_value(field, op, lit.kind, lit.value)
        except _fields.FieldRuleError as e:
            self.fail(str(e), lit.pos)

    def parse_list(self) -> list[_Literal]:
        tok = self.peek()
        if tok.kind is not TokenKind.LPAREN:
            self.fail(f"expected '(' to start a list of values, got {self.describe(tok)}", tok.pos)
        self.advance()
        values = [self.parse_literal()]
        while self.peek().kind is TokenKind.COMMA:
            self.advance()
            values.append(self.parse_literal())
        tok = self.peek()
        if tok.kind is not TokenKind.RPAREN:
            self.fail(f"expected ',' or ')' in the list, got {self.describe(tok)}", tok.pos)
        self.advance()
        return values

    def parse_literal(self) -> _Literal:
        tok = self.peek()
        if tok.kind is TokenKind.STRING:
            self.advance()
            return _Literal("string", tok.value, tok.pos)
        if tok.kind is TokenKind.WORD:
            word = tok.value.lower()
            if word in ("true", "false", "null"):
                self.advance()
                if word == "null":
                    return _Literal(None, False, tok.pos)
                return _Literal("bool", word == "true", tok.pos)
            if _NUMBER.fullmatch(word):
                number = float(word)
                if math.isinf(number) and "inf" not in word:
                    self.fail(f"number {tok.value} is too large; use inf or -inf", tok.pos)
                self.advance()
                return _Literal("number", number, tok.pos)
            if _NAN.fullmatch(word):
                self.fail(
                    "NaN is not allowed: NaN never compares equal to anything, not even "
                    "itself; use 'is null' for runs without a value",
                    tok.pos,
                )
        self.fail(
            "expected a value (a number, a quoted string, true, false or null), "
            f"got {self.describe(tok)}"
            + ("; quote text values" if tok.kind is TokenKind.WORD else ""),
            tok.pos,
        )


def parse_filter_text(text: str) -> Expr:
    """Parse a non-blank filter; see :func:`ragtrack.storage.filter.parse_filter`."""
    return FilterParser(text).parse_filter()


def field_spans(text: str) -> list[tuple[Field, int, int]]:
    """Each params/metrics field of the non-blank filter ``text`` with where it is
    written: ``text[start:end]`` is the field without an aggregate suffix.

    Example:
        >>> [(str(f), s, e) for f, s, e in field_spans("metrics.loss.min < 1")]
        [('metrics.loss.min', 0, 12)]
    """
    parser = FilterParser(text)
    parser.parse_filter()
    return parser.spans
