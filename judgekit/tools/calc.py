"""A safe arithmetic evaluator for the ``<calc>`` tool: a hand-written parser, no ``eval``.

Grammar (``^`` and ``**`` are powers, right-associative; ``x``/``×`` multiply, ``÷`` divides)::

    expr   := term (("+" | "-") term)*
    term   := unary (("*" | "/" | "//" | "%") unary)*
    unary  := ("+" | "-") unary | power
    power  := atom (("**" | "^") unary)?
    atom   := NUMBER | NUMBER "%" | "(" expr ")" | FUNC "(" expr ("," expr)* ")"

Numbers may carry thousands separators (``1,000``), a decimal part and an exponent
(``2.5e3``). Arithmetic is exact (:class:`fractions.Fraction`) except ``sqrt`` and
non-integer powers, which are floats. Every size is bounded so no input can make it
slow or large: the input length, the digits of a literal, the nesting depth, the
power's exponent and every intermediate result's size. Each violation, like a
syntax error or a division by zero, raises :class:`CalcError` with a short reason.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from fractions import Fraction

MAX_INPUT = 256
MAX_LITERAL_DIGITS = 40
MAX_DEPTH = 32
MAX_EXPONENT = 1000
MAX_BITS = 4096  # numerator and denominator of every intermediate result

Number = Fraction | float


class CalcError(ValueError):
    """An expression that is not valid, too large, or undefined (e.g. division by zero)."""


_TOKEN = re.compile(
    r"\s*(?:(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d*)?|\.\d+)(?P<exp>[eE][+-]?\d+)?"
    r"|(?P<name>[a-z]+)|(?P<op>\*\*|//|[-+*/%^(),x×÷]))"
)
_ALIASES = {"x": "*", "×": "*", "÷": "/", "^": "**"}


def _check(value: Number) -> Number:
    if isinstance(value, float):
        if not math.isfinite(value):
            raise CalcError("result is not a finite number")
        return value
    if max(value.numerator.bit_length(), value.denominator.bit_length()) > MAX_BITS:
        raise CalcError(f"intermediate result larger than {MAX_BITS} bits")
    return value


def _sqrt(x: Number) -> Number:
    if x < 0:
        raise CalcError("sqrt of a negative number")
    if isinstance(x, Fraction):
        n, d = math.isqrt(x.numerator), math.isqrt(x.denominator)
        if n * n == x.numerator and d * d == x.denominator:
            return Fraction(n, d)
    return math.sqrt(x)


def _round(x: Number, places: Number = Fraction(0)) -> Number:
    if places != int(places) or abs(int(places)) > 20:
        raise CalcError("round() places must be a whole number from -20 to 20")
    if isinstance(x, float):
        return round(x, int(places))
    return Fraction(round(x, int(places)))


_FUNCS: dict[str, tuple[Callable[..., Number], int, int]] = {
    "sqrt": (_sqrt, 1, 1),
    "abs": (abs, 1, 1),
    "round": (_round, 1, 2),
    "floor": (lambda x: Fraction(math.floor(x)), 1, 1),
    "ceil": (lambda x: Fraction(math.ceil(x)), 1, 1),
    "min": (min, 1, 16),
    "max": (max, 1, 16),
}


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos, end = 0, len(text.rstrip())
    while pos < end:
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise CalcError(f"unexpected character {text[pos:].lstrip()[:1]!r}")
        pos = m.end()
        if m.group("num"):
            digits = m.group("num").replace(",", "")
            if len(digits) > MAX_LITERAL_DIGITS:
                raise CalcError(f"number with more than {MAX_LITERAL_DIGITS} digits")
            exp = m.group("exp") or ""
            if exp and abs(int(exp[1:])) > MAX_EXPONENT:
                raise CalcError(f"exponent larger than {MAX_EXPONENT}")
            out.append(("num", digits + exp))
        elif m.group("name"):
            name = m.group("name")
            if name == "x":
                out.append(("op", "*"))
            elif name not in _FUNCS:
                raise CalcError(f"unknown name {name!r}")
            else:
                out.append(("name", name))
        else:
            op = m.group("op")
            out.append(("op", _ALIASES.get(op, op)))
    return out


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.tokens, self.i, self.depth = tokens, 0, 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self, value: str) -> bool:
        tok = self.peek()
        if tok is not None and tok == ("op", value):
            self.i += 1
            return True
        return False

    def expect(self, value: str) -> None:
        if not self.take(value):
            raise CalcError(f"expected {value!r}")

    def expr(self) -> Number:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise CalcError(f"expression nested deeper than {MAX_DEPTH}")
        value = self.term()
        while True:
            if self.take("+"):
                value = _check(value + self.term())
            elif self.take("-"):
                value = _check(value - self.term())
            else:
                self.depth -= 1
                return value

    def term(self) -> Number:
        value = self.unary()
        while True:
            tok = self.peek()
            if tok is None or tok[0] != "op" or tok[1] not in ("*", "/", "//", "%"):
                return value
            self.i += 1
            rhs = self.unary()
            if tok[1] == "*":
                value = _check(value * rhs)
                continue
            if rhs == 0:
                raise CalcError("division by zero")
            result = value / rhs if tok[1] == "/" else value // rhs if tok[1] == "//" else value % rhs
            value = _check(Fraction(result) if isinstance(result, int) else result)

    def unary(self) -> Number:
        if self.take("-"):
            return -self.unary()
        if self.take("+"):
            return self.unary()
        return self.power()

    def power(self) -> Number:
        base = self.atom()
        if not self.take("**"):
            return base
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise CalcError(f"expression nested deeper than {MAX_DEPTH}")
        exponent = self.unary()
        self.depth -= 1
        return _power(base, exponent)

    def atom(self) -> Number:
        tok = self.peek()
        if tok is None:
            raise CalcError("unexpected end of expression")
        self.i += 1
        if tok[0] == "num":
            value: Number = Fraction(tok[1])
            nxt, after = self.peek(), self.tokens[self.i + 1] if self.i + 1 < len(self.tokens) else None
            # "15%" alone or before an operator/closer is a percentage; "15 % 4" is modulo
            if nxt == ("op", "%") and (after is None or after[0] == "op" and after[1] not in ("(", "-", "+")):
                self.i += 1
                value = value / 100
            return _check(value)
        if tok == ("op", "("):
            value = self.expr()
            self.expect(")")
            return value
        if tok[0] == "name":
            fn, lo, hi = _FUNCS[tok[1]]
            self.expect("(")
            args = [self.expr()]
            while self.take(","):
                args.append(self.expr())
            self.expect(")")
            if not lo <= len(args) <= hi:
                raise CalcError(f"{tok[1]}() takes {lo} to {hi} arguments, got {len(args)}")
            try:
                return _check(fn(*args))
            except (ValueError, OverflowError, TypeError) as exc:
                raise CalcError(f"{tok[1]}(): {exc}") from exc
        raise CalcError(f"unexpected {tok[1]!r}")


def _power(base: Number, exponent: Number) -> Number:
    if isinstance(exponent, Fraction) and exponent.denominator == 1:
        e = int(exponent)
        if abs(e) > MAX_EXPONENT:
            raise CalcError(f"exponent larger than {MAX_EXPONENT}")
        if isinstance(base, Fraction):
            if base == 0 and e < 0:
                raise CalcError("division by zero")
            bits = max(base.numerator.bit_length(), base.denominator.bit_length())
            if bits * abs(e) > MAX_BITS:
                raise CalcError(f"power larger than {MAX_BITS} bits")
            return _check(base**e)
    if abs(float(exponent)) > MAX_EXPONENT:
        raise CalcError(f"exponent larger than {MAX_EXPONENT}")
    if base < 0:
        raise CalcError("fractional power of a negative number")
    try:
        return _check(float(base) ** float(exponent))
    except (OverflowError, ZeroDivisionError) as exc:
        raise CalcError(f"power: {exc}") from exc


def evaluate(text: str) -> Number:
    """Evaluate an arithmetic expression; raise :class:`CalcError` on anything else."""
    text = text.replace("$", " ").strip().rstrip("=").strip()
    if not text:
        raise CalcError("empty expression")
    if len(text) > MAX_INPUT:
        raise CalcError(f"expression longer than {MAX_INPUT} characters")
    parser = _Parser(_tokens(text))
    value = parser.expr()
    if parser.peek() is not None:
        raise CalcError(f"unexpected {parser.peek()[1]!r}")  # type: ignore[index]
    return value


def format_number(value: Number) -> str:
    """Exact integers as integers; terminating fractions exactly; others to 10 significant digits."""
    if isinstance(value, Fraction):
        if value.denominator == 1:
            return str(value.numerator)
        d = value.denominator
        while d % 2 == 0:
            d //= 2
        while d % 5 == 0:
            d //= 5
        if d == 1 and value.denominator < 10**12:  # terminating: print every digit exactly
            places = 0
            while (value * 10**places).denominator != 1:
                places += 1
            scaled = abs(value.numerator * 10**places // value.denominator)
            whole, frac = divmod(scaled, 10**places)
            return f"{'-' if value < 0 else ''}{whole}.{frac:0{places}d}"
        value = float(value)
    return f"{value:.10g}"


def calculate(text: str) -> str:
    """Evaluate and format: the ``<calc>`` tool's answer (raises :class:`CalcError`)."""
    return format_number(evaluate(text))
