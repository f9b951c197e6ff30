"""Parser of order-by specs: ``"-metrics.recall@10, params.lr asc"``.

Grammar::

    order_spec := order_item ("," order_item)* EOF
    order_item := ["-" | "+"] field ["asc" | "desc"]

Fields are read exactly as in filters, so quoting rules are the same.
"""

from __future__ import annotations

from ragtrack.storage.filter import _fields
from ragtrack.storage.filter._ast import OrderKey
from ragtrack.storage.filter._lexer import TokenKind
from ragtrack.storage.filter._parser import FilterParser

_SIMPLE_ORDER_FIELDS = ", ".join(f for f in _fields.ORDER_FIELDS if f not in ("params", "metrics"))


class _OrderParser(FilterParser):
    def parse_order_spec(self) -> list[OrderKey]:
        keys = [self.parse_order_item()]
        while self.peek().kind is TokenKind.COMMA:
            self.advance()
            keys.append(self.parse_order_item())
        tok = self.peek()
        if tok.kind is not TokenKind.EOF:
            self.fail(
                f"expected ',', 'asc', 'desc' or end of input, got {self.describe(tok)}", tok.pos
            )
        return keys

    def parse_order_item(self) -> OrderKey:
        tok = self.peek()
        signed, descending, skip = False, False, 0
        # The lexer keeps "-metrics.x" as one word, so the sign is peeled off here.
        if tok.kind is TokenKind.WORD and tok.value[0] in "+-":
            signed, descending = True, tok.value[0] == "-"
            if len(tok.value) == 1:
                self.advance()
                tok = self.peek()
            else:
                skip = 1
        if tok.kind is not TokenKind.WORD:
            self.fail(f"expected a field to order by, got {self.describe(tok)}", tok.pos)
        field = self.parse_field(tok, skip)
        if field.name not in _fields.ORDER_FIELDS:
            self.fail(
                f"cannot order by {field}; expected params.<key>, metrics.<key> or one of "
                f"{_SIMPLE_ORDER_FIELDS}",
                tok.pos + skip,
            )
        if self.at_keyword("asc", "desc"):
            word = self.advance()
            if signed:
                self.fail("use either a '+'/'-' prefix or 'asc'/'desc', not both", word.pos)
            return OrderKey(field, word.value.lower() == "desc")
        return OrderKey(field, descending)


def parse_order_text(text: str) -> list[OrderKey]:
    """Parse one non-blank order-by string into its keys.

    Example:
        >>> [str(k) for k in parse_order_text("-metrics.recall@10, params.lr asc")]
        ['-metrics.recall@10', 'params.lr']
    """
    return _OrderParser(text).parse_order_spec()
