"""A safe arithmetic evaluator for the ``<calc>`` tool: a hand-written parser, no ``eval``.

Grammar (``^`` and ``**`` are powers, right-associative; ``x``/``×`` multiply, ``÷`` divides)::

    expr   := term (("+" | "-") term)*
    term   := unary (("*" | "/" | "//" | "%") unary)*
    unary  := ("+" | "-") unary | power
    power  := atom (("**" | "^") unary)?
    atom   := NUMBER | NUMBER "%" | "(" expr ")" | FUNC "(" expr ("," expr)* ")"

Numbers may carry thousands separators (``1,000``), a decimal part and an exponent
(``2.5e3``). Arithmetic is exact (:class:`fractions.Fraction`) except ``sqrt`` and
non-integer powers, which are floats (a float meeting an exact number is computed in
floating point; a value beyond the float range is an error, never ``inf`` or a crash).
Every size is bounded so no input can make it slow or large: the input length, the
digits of a literal, the nesting depth, the power's exponent and every intermediate
result's size. Each violation, like a syntax error or a division by zero, raises
:class:`CalcError` with a short reason; :func:`calculate` is the boundary that turns
any arithmetic exception Python raises into a :class:`CalcError` too, so nothing a
model writes can crash a run. Decimal digits of any script (``٣``, ``３``) read as ASCII.
Results print exactly where short (integers up to :data:`MAX_SHOWN_DIGITS` digits,
terminating decimals) and otherwise to 10 significant digits, computed from the exact
value (``(1/3)**1000`` prints ``7.563891323e-478``, not ``0``).
"""

from __future__ import annotations

import math
import operator
import re
import unicodedata
from collections.abc import Callable
from decimal import Decimal, localcontext
from fractions import Fraction

MAX_INPUT = 256
MAX_LITERAL_DIGITS = 40
MAX_DEPTH = 32
MAX_EXPONENT = 1000
MAX_BITS = 4096  # numerator and denominator of every intermediate result
MAX_SHOWN_DIGITS = 120  # longer exact integers print in scientific notation
SIGNIFICANT = 10
FLOAT_TINY, FLOAT_HUGE = Decimal("1e-300"), Decimal("1e300")

Number = Fraction | float


class CalcError(ValueError):
    """An expression that is not valid, too large, or undefined (e.g. division by zero)."""


_TOKEN = re.compile(
    r"\s*(?:(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d*)?|\.\d+)(?P<exp>[eE][+-]?\d+)?"
    r"|(?P<name>[a-z]+)|(?P<op>\*\*|//|[-+*/%^(),x×÷]))"
)
_ALIASES = {"x": "*", "×": "*", "÷": "/", "^": "**"}


def _float(value: Number) -> float:
    """``value`` as a float, or :class:`CalcError` when it lies beyond the float range."""
    try:
        result = float(value)
    except OverflowError as exc:
        raise CalcError("result too large for a floating-point number (over 1.8e308)") from exc
    if not math.isfinite(result):
        raise CalcError("result is not a finite number")
    if result == 0 and value != 0:
        raise CalcError("result too small for a floating-point number (under 1e-308)")
    return result


def _arith(op: Callable[[Number, Number], Number], a: Number, b: Number) -> Number:
    """``op(a, b)``, in floating point when either side is a float (checked conversion)."""
    if isinstance(a, float) or isinstance(b, float):
        a, b = _float(a), _float(b)
    try:
        return _check(op(a, b))
    except OverflowError as exc:
        raise CalcError("result too large for a floating-point number (over 1.8e308)") from exc


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
    return _power(x, Fraction(1, 2))


def _round(x: Number, places: Number = Fraction(0)) -> Number:
    if places != int(places) or abs(int(places)) > 20:
        raise CalcError("round() places must be a whole number from -20 to 20")
    if isinstance(x, float):
        return round(x, int(places))
    return Fraction(round(x, int(places)))


_BINARY: dict[str, Callable[[Number, Number], Number]] = {
    "*": operator.mul, "/": operator.truediv, "//": operator.floordiv, "%": operator.mod,
}

_FUNCS: dict[str, tuple[Callable[..., Number], int, int]] = {
    "sqrt": (_sqrt, 1, 1),
    "abs": (abs, 1, 1),
    "round": (_round, 1, 2),
    "floor": (lambda x: Fraction(math.floor(x)), 1, 1),
    "ceil": (lambda x: Fraction(math.ceil(x)), 1, 1),
    "min": (lambda *args: min(args), 1, 16),
    "max": (lambda *args: max(args), 1, 16),
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
                value = _arith(operator.add, value, self.term())
            elif self.take("-"):
                value = _arith(operator.sub, value, self.term())
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
            if tok[1] != "*" and rhs == 0:
                raise CalcError("division by zero")
            result = _arith(_BINARY[tok[1]], value, rhs)
            value = Fraction(result) if isinstance(result, int) else result

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
            except CalcError:
                raise
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
    if not -MAX_EXPONENT <= exponent <= MAX_EXPONENT:
        raise CalcError(f"exponent larger than {MAX_EXPONENT}")
    if base < 0:
        raise CalcError("fractional power of a negative number")
    fe = _float(exponent)
    try:
        b = float(base)
    except OverflowError:  # a huge exact base: through logarithms (math.log takes big integers)
        assert isinstance(base, Fraction)
        log = math.log(base.numerator) - math.log(base.denominator)
        try:
            return _check(math.exp(log * fe))
        except OverflowError as exc:
            raise CalcError("result too large for a floating-point number (over 1.8e308)") from exc
    try:
        return _check(b**fe)
    except (OverflowError, ZeroDivisionError) as exc:
        raise CalcError(f"power: {exc}") from exc


def _ascii_digits(text: str) -> str:
    """Decimal digits of any script as ASCII digits (other characters unchanged)."""
    return "".join(str(unicodedata.decimal(c)) if c.isdecimal() and not c.isascii() else c for c in text)


def evaluate(text: str) -> Number:
    """Evaluate an arithmetic expression; raise :class:`CalcError` on anything else."""
    text = _ascii_digits(text.replace("$", " ").strip().rstrip("=").strip())
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
    """Exact where short, else 10 significant digits rounded from the exact value.

    Exact: integers up to :data:`MAX_SHOWN_DIGITS` digits and terminating fractions. Never
    through a float that would overflow or underflow to ``0``.
    """
    if isinstance(value, float):
        return f"{value:.{SIGNIFICANT}g}"
    if value.denominator == 1 and len(str(abs(value.numerator))) <= MAX_SHOWN_DIGITS:
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
        if len(str(whole)) <= MAX_SHOWN_DIGITS:
            return f"{'-' if value < 0 else ''}{whole}.{frac:0{places}d}"
    with localcontext() as ctx:
        ctx.prec = SIGNIFICANT
        ctx.Emax, ctx.Emin = 10**6, -(10**6)
        shown = Decimal(value.numerator) / Decimal(value.denominator)
    if FLOAT_TINY < abs(shown) < FLOAT_HUGE:  # the digits are already rounded: print them as a float would
        return f"{float(shown):.{SIGNIFICANT}g}"
    return f"{shown.normalize():.{SIGNIFICANT}g}"


def calculate(text: str) -> str:
    """Evaluate and format: the ``<calc>`` tool's answer.

    The boundary of the tool: raises :class:`CalcError` and nothing else, whatever ``text`` is
    (an arithmetic exception that slipped past the bounds becomes a calculator error too).
    """
    try:
        return format_number(evaluate(text))
    except CalcError:
        raise
    except (ArithmeticError, ValueError, TypeError, MemoryError, RecursionError) as exc:
        raise CalcError(f"cannot evaluate: {type(exc).__name__}") from exc
