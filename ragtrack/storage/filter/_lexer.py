"""Tokens of the runs filter language.

The lexer is deliberately simple: a *word* is any run of letters, digits and
``_ - / @ . : + %``, so ``metrics.recall@10``, ``-inf`` and ``1e-5`` are each one
word; the parser decides whether a word is a field, a number or a keyword.
Backtick-quoted keys and quoted strings are separate tokens; the parser joins a
field's pieces when they touch (no space between them).
"""

from __future__ import annotations

import enum
import re
import unicodedata
from typing import NamedTuple

from ragtrack.exceptions import InvalidFilterError

#: Longer filters are rejected before lexing so hostile input stays cheap.
MAX_FILTER_LENGTH = 10_000

_WORD_PUNCTUATION = frozenset("_-/@.:+%")
_ESCAPES = {"\\": "\\", '"': '"', "'": "'", "`": "`", "n": "\n", "t": "\t", "r": "\r"}
# NUL cannot be stored in PostgreSQL text and lone surrogates cannot be encoded
# as UTF-8 for any driver, so neither may reach a bound parameter.
_FORBIDDEN = re.compile("[\x00\ud800-\udfff]")
_OPERATORS = ("==", "!=", "<=", ">=", "=", "<", ">")


class TokenKind(enum.Enum):
    WORD = "word"
    STRING = "string"
    QUOTED_KEY = "quoted key"
    OPERATOR = "operator"
    LPAREN = "'('"
    RPAREN = "')'"
    COMMA = "','"
    EOF = "end of input"


class Token(NamedTuple):
    """One token; ``value`` is the unescaped text, ``pos``/``end`` offsets into the input."""

    kind: TokenKind
    value: str
    pos: int
    end: int


def is_word_char(ch: str) -> bool:
    """Whether ``ch`` may appear in an unquoted word (field, key, number, keyword).

    Example:
        >>> is_word_char("@"), is_word_char("ж"), is_word_char(" ")
        (True, True, False)
    """
    # Combining marks (category M*) are needed for keys in scripts such as Devanagari.
    return ch.isalnum() or ch in _WORD_PUNCTUATION or unicodedata.category(ch).startswith("M")


def check_text(text: str) -> None:
    """Reject input no filter can contain: too long, NUL bytes, lone surrogates."""
    if len(text) > MAX_FILTER_LENGTH:
        # Only the start of the text goes into the error so its message stays bounded.
        raise InvalidFilterError(
            f"filter is longer than {MAX_FILTER_LENGTH} characters; expected a shorter filter",
            text[: MAX_FILTER_LENGTH + 1],
            MAX_FILTER_LENGTH,
        )
    bad = _FORBIDDEN.search(text)
    if bad is not None:
        what = "a NUL character" if bad.group() == "\x00" else "a lone surrogate character"
        raise InvalidFilterError(f"{what} is not allowed in a filter", text, bad.start())


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens, ending with an EOF token.

    Raises:
        InvalidFilterError: for a character that starts no token or an
            unterminated string or quoted key.

    Example:
        >>> [t.value for t in tokenize("metrics.loss < 0.5")]
        ['metrics.loss', '<', '0.5', '']
    """
    check_text(text)
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
        elif is_word_char(ch):
            j = i + 1
            while j < n and is_word_char(text[j]):
                j += 1
            tokens.append(Token(TokenKind.WORD, text[i:j], i, j))
            i = j
        elif ch in "'\"":
            value, j = _read_string(text, i)
            tokens.append(Token(TokenKind.STRING, value, i, j))
            i = j
        elif ch == "`":
            value, j = _read_quoted_key(text, i)
            tokens.append(Token(TokenKind.QUOTED_KEY, value, i, j))
            i = j
        elif ch in "(),":
            kind = {"(": TokenKind.LPAREN, ")": TokenKind.RPAREN, ",": TokenKind.COMMA}[ch]
            tokens.append(Token(kind, ch, i, i + 1))
            i += 1
        else:
            op = next((o for o in _OPERATORS if text.startswith(o, i)), None)
            if op is None:
                expected = "'=' after '!'" if ch == "!" else "a field, value, operator or '('"
                raise InvalidFilterError(
                    f"unexpected character {ch!r}; expected {expected}", text, i
                )
            tokens.append(Token(TokenKind.OPERATOR, op, i, i + len(op)))
            i += len(op)
    tokens.append(Token(TokenKind.EOF, "", n, n))
    return tokens


def _read_string(text: str, start: int) -> tuple[str, int]:
    quote = text[start]
    out: list[str] = []
    i = start + 1
    while i < len(text):
        ch = text[i]
        if ch == quote:
            return "".join(out), i + 1
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        nxt = text[i + 1] if i + 1 < len(text) else ""
        if nxt in _ESCAPES:
            out.append(_ESCAPES[nxt])
            i += 2
        elif nxt == "u":
            out.append(_read_unicode_escape(text, i))
            i += 6
        elif not nxt:
            break
        else:
            raise InvalidFilterError(
                f"unknown escape '\\{nxt}'; expected one of \\\\ \\\" \\' \\` \\n \\t \\r \\uXXXX",
                text,
                i,
            )
    raise InvalidFilterError(f"unterminated string; expected a closing {quote}", text, start)


def _read_unicode_escape(text: str, i: int) -> str:
    digits = text[i + 2 : i + 6]
    if len(digits) != 4 or any(c not in "0123456789abcdefABCDEF" for c in digits):
        raise InvalidFilterError("expected 4 hex digits after '\\u'", text, i)
    ch = chr(int(digits, 16))
    if _FORBIDDEN.match(ch):
        raise InvalidFilterError(
            "'\\u' escape of a NUL or surrogate character is not allowed", text, i
        )
    return ch


def _read_quoted_key(text: str, start: int) -> tuple[str, int]:
    # Like SQL identifiers: a doubled backtick stands for one, no backslash escapes.
    out: list[str] = []
    i = start + 1
    while i < len(text):
        if text[i] != "`":
            out.append(text[i])
            i += 1
        elif text.startswith("``", i):
            out.append("`")
            i += 2
        else:
            return "".join(out), i + 1
    raise InvalidFilterError("unterminated quoted key; expected a closing `", text, start)
