"""A parser for the subset of the Google Ads Query Language the sandbox answers.

    SELECT <field>, ... FROM <resource>
    [WHERE <condition> [AND <condition> ...]]
    [ORDER BY <field> [ASC|DESC], ...]
    [LIMIT <n>]

A condition is ``field <op> value`` with op one of = != > >= < <=,
``field [NOT] IN (v, ...)``, ``field [NOT] LIKE 'pattern'``,
``field BETWEEN a AND b``, ``field DURING <date literal>`` or
``field IS [NOT] NULL``. Values are quoted strings ('...' or "..."), numbers
or bare enum constants. GAQL has no OR. Keywords are case-insensitive; field
and resource names are lower snake_case, as in Google's own grammar.

Errors carry Google's QueryError code (``QueryErrorEnum``), so the API module
can answer with the platform's own error body.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DURING_LITERALS = ("TODAY", "YESTERDAY", "LAST_7_DAYS", "LAST_14_DAYS", "LAST_30_DAYS", "THIS_MONTH", "LAST_MONTH")


class GaqlError(ValueError):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Condition:
    field: str
    operator: str  # =, !=, >, >=, <, <=, IN, NOT IN, LIKE, NOT LIKE, BETWEEN, DURING, IS NULL, IS NOT NULL
    values: tuple[str | float | int, ...]


@dataclass(frozen=True)
class Query:
    fields: tuple[str, ...]
    resource: str
    conditions: tuple[Condition, ...]
    order_by: tuple[tuple[str, bool], ...]  # (field, descending)
    limit: int | None


_TOKEN = re.compile(
    r"""
    \s*(?:
      (?P<string>'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*")
    | (?P<unterminated>['"])
    | (?P<number>-?\d+(?:\.\d+)?)
    | (?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
    | (?P<op>!=|>=|<=|=|>|<)
    | (?P<punct>[(),])
    | (?P<bad>\S)
    )""",
    re.VERBOSE,
)

_COMPARISONS = ("=", "!=", ">", ">=", "<", "<=")


@dataclass(frozen=True)
class _Token:
    kind: str  # string, number, name, op, punct
    text: str
    value: str | float | int

    def is_keyword(self, *words: str) -> bool:
        return self.kind == "name" and self.text.upper() in words


def _tokenize(query: str) -> list[_Token]:
    tokens = []
    position = 0
    query = query.rstrip()
    while position < len(query):
        m = _TOKEN.match(query, position)
        if m is None:  # only trailing whitespace left
            break
        position = m.end()
        kind = m.lastgroup
        text = m.group(kind)
        if kind == "unterminated":
            raise GaqlError("STRING_NOT_TERMINATED", f"Error in query: unterminated string starting at {text}")
        if kind == "bad":
            raise GaqlError("BAD_SYMBOL", f"Error in query: unexpected symbol '{text}'.")
        if kind == "string":
            value: str | float | int = re.sub(r"\\(.)", r"\1", text[1:-1])
        elif kind == "number":
            value = float(text) if "." in text else int(text)
        else:
            value = text
        tokens.append(_Token(kind, text, value))
    return tokens


class _Parser:
    def __init__(self, query: str):
        self.tokens = _tokenize(query)
        self.i = 0

    def peek(self) -> _Token | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def next(self, expected: str = "more input") -> _Token:
        token = self.peek()
        if token is None:
            raise GaqlError("UNEXPECTED_END_OF_QUERY", f"Error in query: unexpected end of query, expected {expected}.")
        self.i += 1
        return token

    def keyword(self, word: str, code: str) -> None:
        token = self.peek()
        if token is None or not token.is_keyword(word):
            raise GaqlError(code, f"Error in query: expected {word}" + (f", found '{token.text}'." if token else "."))
        self.i += 1

    def field(self) -> str:
        token = self.next("a field name")
        if token.kind != "name" or token.is_keyword("SELECT", "FROM", "WHERE", "AND", "ORDER", "BY", "LIMIT"):
            raise GaqlError("BAD_FIELD_NAME", f"Error in query: '{token.text}' is not a field name.")
        return token.text

    def value(self) -> str | float | int:
        token = self.next("a value")
        if token.kind not in ("string", "number", "name"):
            raise GaqlError("BAD_VALUE", f"Error in query: '{token.text}' is not a value.")
        return token.value

    def value_list(self) -> tuple:
        token = self.next("a list")
        if token.text != "(":
            raise GaqlError("EXPECTED_LIST", f"Error in query: expected a list in parentheses, found '{token.text}'.")
        values = []
        if self.peek() is not None and self.peek().text == ")":
            raise GaqlError("PROHIBITED_EMPTY_LIST_IN_CONDITION", "Error in query: empty list in condition.")
        while True:
            values.append(self.value())
            token = self.next("',' or ')'")
            if token.text == ")":
                return tuple(values)
            if token.text != ",":
                raise GaqlError("UNEXPECTED_INPUT", f"Error in query: expected ',' or ')', found '{token.text}'.")

    def condition(self) -> Condition:
        field = self.field()
        token = self.next("an operator")
        if token.kind == "op":
            return Condition(field, token.text, (self.value(),))
        word = token.text.upper() if token.kind == "name" else ""
        if word == "NOT":
            after = self.next("IN or LIKE").text.upper()
            if after == "IN":
                return Condition(field, "NOT IN", self.value_list())
            if after == "LIKE":
                return Condition(field, "NOT LIKE", (self.value(),))
            raise GaqlError("BAD_OPERATOR", f"Error in query: unknown operator 'NOT {after}'.")
        if word == "IN":
            return Condition(field, "IN", self.value_list())
        if word == "LIKE":
            return Condition(field, "LIKE", (self.value(),))
        if word == "BETWEEN":
            low = self.value()
            token = self.peek()
            if token is None or not token.is_keyword("AND"):
                raise GaqlError("EXPECTED_AND", "Error in query: expected AND between the values of BETWEEN.")
            self.i += 1
            return Condition(field, "BETWEEN", (low, self.value()))
        if word == "DURING":
            literal = self.next("a date range literal")
            if literal.kind != "name" or literal.text.upper() not in DURING_LITERALS:
                raise GaqlError(
                    "INVALID_VALUE_WITH_DURING_OPERATOR", f"Error in query: invalid value with DURING operator: '{literal.text}'."
                )
            return Condition(field, "DURING", (literal.text.upper(),))
        if word == "IS":
            token = self.next("NULL or NOT NULL")
            if token.is_keyword("NOT"):
                self.keyword("NULL", "BAD_OPERATOR")
                return Condition(field, "IS NOT NULL", ())
            if token.is_keyword("NULL"):
                return Condition(field, "IS NULL", ())
        raise GaqlError("BAD_OPERATOR", f"Error in query: unknown operator '{token.text}'.")

    def parse(self) -> Query:
        self.keyword("SELECT", "EXPECTED_SELECT")
        fields = [self.field()]
        while self.peek() is not None and self.peek().text == ",":
            self.i += 1
            fields.append(self.field())
        self.keyword("FROM", "EXPECTED_FROM")
        resource_token = self.next("a resource name")
        if resource_token.kind != "name" or "." in resource_token.text:
            raise GaqlError(
                "BAD_RESOURCE_TYPE_IN_FROM_CLAUSE", f"Error in query: invalid resource '{resource_token.text}' in FROM clause."
            )
        conditions, order_by, limit = [], [], None
        if self.peek() is not None and self.peek().is_keyword("WHERE"):
            self.i += 1
            conditions.append(self.condition())
            while self.peek() is not None and self.peek().is_keyword("AND"):
                self.i += 1
                conditions.append(self.condition())
        if self.peek() is not None and self.peek().is_keyword("ORDER"):
            self.i += 1
            self.keyword("BY", "EXPECTED_BY")
            while True:
                field = self.field()
                descending = False
                if self.peek() is not None and self.peek().is_keyword("ASC", "DESC"):
                    descending = self.next().text.upper() == "DESC"
                order_by.append((field, descending))
                if self.peek() is None or self.peek().text != ",":
                    break
                self.i += 1
        if self.peek() is not None and self.peek().is_keyword("LIMIT"):
            self.i += 1
            token = self.next("a limit")
            if token.kind != "number" or not isinstance(token.value, int):
                raise GaqlError("BAD_LIMIT_VALUE", f"Error in query: invalid LIMIT value '{token.text}'.")
            if token.value <= 0:
                raise GaqlError("LIMIT_VALUE_TOO_LOW", f"Error in query: LIMIT must be positive, not {token.value}.")
            limit = token.value
        if self.peek() is not None:
            raise GaqlError("UNEXPECTED_INPUT", f"Error in query: unexpected input '{self.peek().text}'.")
        return Query(tuple(fields), resource_token.text, tuple(conditions), tuple(order_by), limit)


def parse(query: str) -> Query:
    """The parsed query, or GaqlError with Google's QueryError code."""
    if not isinstance(query, str) or not query.strip():
        raise GaqlError("EXPECTED_SELECT", "Error in query: the query is empty.")
    return _Parser(query).parse()
