r"""Translate judgekit's verdict regexes into GBNF, the grammar language llama.cpp enforces.

llama.cpp servers (llama-cpp-python's and the C++ ``llama-server``) take no regex but
accept a ``grammar`` field holding GBNF. The verdict formats and protocols use a small
regex subset, and this module translates exactly that subset:

- literal characters and escapes (``\[``, ``\n``, ``\\``, ``\{``, ``re.escape`` output);
- character classes ``[...]`` and ``[^...]`` with ranges and escapes, ``.``, ``\d``,
  ``\s``, ``\w``;
- groups ``(...)`` and ``(?:...)`` with alternation ``|``;
- quantifiers ``*``, ``+``, ``?``, ``{m}``, ``{m,}``, ``{m,n}`` (greedy; lazy ``?`` suffix
  ignored, as it does not change the language).

Anything else (anchors, ``\b``, look-arounds, back-references, flags) raises
``ValueError`` naming the construct, so an untranslatable constraint is never sent
half-translated. ``regex_to_gbnf`` matches Python's ``re.fullmatch`` semantics.

Unlike the transformers backend, a server cannot be told to keep enough of the token
budget to finish the pattern. With ``max_chars`` given, unbounded repeats (the open
reasoning line ``[^\n\[\]]+``) are capped so that the longest string the grammar
admits has at most ``max_chars`` characters; as every token is at least one byte,
an ASCII answer then always ends within ``max_chars`` tokens, verdict included.
"""

from __future__ import annotations

from dataclasses import dataclass

_META_ESCAPES = frozenset(" \t\"#%&',-./:;<=>@_`~!^$*+?()[]{}|\\")
_CLASS_SHORTHANDS: dict[str, tuple[bool, tuple[tuple[str, str], ...]]] = {
    "d": (False, (("0", "9"),)),
    "s": (False, ((" ", " "), ("\t", "\r"))),  # space, \t \n \v \f \r
    "w": (False, (("a", "z"), ("A", "Z"), ("0", "9"), ("_", "_"))),
}
_CONTROL = {"n": "\n", "t": "\t", "r": "\r", "f": "\f", "v": "\v"}


@dataclass(frozen=True)
class Lit:
    """A literal string."""

    text: str


@dataclass(frozen=True)
class CharClass:
    """A set of characters: inclusive ranges, possibly negated."""

    negated: bool
    ranges: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Seq:
    """Concatenation."""

    items: tuple[Node, ...]


@dataclass(frozen=True)
class Alt:
    """Alternation."""

    options: tuple[Node, ...]


@dataclass(frozen=True)
class Repeat:
    """``item`` repeated ``lo`` to ``hi`` times (``hi`` None: unbounded)."""

    item: Node
    lo: int
    hi: int | None


Node = Lit | CharClass | Seq | Alt | Repeat


class _Parser:
    """Recursive-descent parser for the regex subset (see the module docstring)."""

    def __init__(self, pattern: str) -> None:
        self.s = pattern
        self.i = 0

    def error(self, what: str) -> ValueError:
        return ValueError(f"regex not translatable to GBNF: {what} at position {self.i} of {self.s!r}")

    def peek(self) -> str:
        return self.s[self.i] if self.i < len(self.s) else ""

    def parse(self) -> Node:
        node = self.alternation()
        if self.i != len(self.s):
            raise self.error(f"unbalanced {self.peek()!r}")
        return node

    def alternation(self) -> Node:
        options = [self.sequence()]
        while self.peek() == "|":
            self.i += 1
            options.append(self.sequence())
        return options[0] if len(options) == 1 else Alt(tuple(options))

    def sequence(self) -> Node:
        items: list[Node] = []
        while self.peek() not in ("", "|", ")"):
            item = self.quantified(self.atom())
            if isinstance(item, Lit) and items and isinstance(items[-1], Lit):
                items[-1] = Lit(items[-1].text + item.text)
            else:
                items.append(item)
        return items[0] if len(items) == 1 else Seq(tuple(items))

    def quantified(self, node: Node) -> Node:
        while True:
            ch = self.peek()
            if ch in ("*", "+", "?"):
                self.i += 1
                lo, hi = {"*": (0, None), "+": (1, None), "?": (0, 1)}[ch]
            elif ch == "{" and self._brace_is_quantifier():
                lo, hi = self._braces()
            else:
                return node
            if self.peek() == "?":  # lazy: same language
                self.i += 1
            elif self.peek() == "+":
                raise self.error("possessive quantifier")
            node = Repeat(node, lo, hi)

    def _brace_is_quantifier(self) -> bool:
        end = self.s.find("}", self.i)
        body = self.s[self.i + 1 : end] if end > 0 else ""
        lo, _, hi = body.partition(",")
        return bool(lo.isdigit() and (hi == "" or hi.isdigit()))

    def _braces(self) -> tuple[int, int | None]:
        end = self.s.index("}", self.i)
        body = self.s[self.i + 1 : end]
        self.i = end + 1
        if "," not in body:
            return int(body), int(body)
        lo, hi = body.split(",", 1)
        if hi and int(hi) < int(lo):
            raise self.error(f"repeat {{{body}}} with max < min")
        return int(lo), int(hi) if hi else None

    def atom(self) -> Node:
        ch = self.peek()
        if ch == "(":
            self.i += 1
            if self.s.startswith("?:", self.i):
                self.i += 2
            elif self.peek() == "?":
                raise self.error("group extension (?...)")
            node = self.alternation()
            if self.peek() != ")":
                raise self.error("missing ')'")
            self.i += 1
            return node
        if ch == "[":
            return self.char_class()
        if ch == ".":
            self.i += 1
            return CharClass(True, (("\n", "\n"),))
        if ch == "\\":
            return self.escape(in_class=False)
        if ch in ("^", "$"):
            raise self.error(f"anchor {ch!r}")
        if ch in ("*", "+", "?"):
            raise self.error(f"nothing to repeat before {ch!r}")
        self.i += 1
        return Lit(ch)

    def escape(self, *, in_class: bool) -> Node:
        self.i += 1
        ch = self.peek()
        self.i += 1
        if ch in _CONTROL:
            return Lit(_CONTROL[ch])
        if ch in _CLASS_SHORTHANDS and not in_class:
            negated, ranges = _CLASS_SHORTHANDS[ch]
            return CharClass(negated, ranges)
        if ch.lower() in _CLASS_SHORTHANDS and ch.isupper() and not in_class:
            return CharClass(True, _CLASS_SHORTHANDS[ch.lower()][1])
        if ch and (ch in _META_ESCAPES or not ch.isalnum()):
            return Lit(ch)
        self.i -= 2
        raise self.error(f"escape \\{ch}")

    def char_class(self) -> CharClass:
        self.i += 1
        negated = self.peek() == "^"
        if negated:
            self.i += 1
        ranges: list[tuple[str, str]] = []
        first = True
        while True:
            ch = self.peek()
            if ch == "":
                raise self.error("missing ']'")
            if ch == "]" and not first:
                self.i += 1
                return CharClass(negated, tuple(ranges))
            first = False
            lo = self._class_char()
            if self.peek() == "-" and self.s[self.i + 1 : self.i + 2] not in ("]", ""):
                self.i += 1
                hi = self._class_char()
                if hi < lo:
                    raise self.error("bad range in character class")
                ranges.append((lo, hi))
            else:
                ranges.append((lo, lo))

    def _class_char(self) -> str:
        r"""One class member (a character, possibly escaped); shorthands such as ``\d`` are refused here."""
        if self.peek() != "\\":
            ch = self.peek()
            self.i += 1
            if ch == "[" and self.peek() == ":":
                raise self.error("POSIX class")
            return ch
        nxt = self.s[self.i + 1 : self.i + 2]
        if nxt in _CLASS_SHORTHANDS:
            raise self.error(f"\\{nxt} inside a character class")
        node = self.escape(in_class=True)
        assert isinstance(node, Lit)
        return node.text


def parse_regex(pattern: str) -> Node:
    """Parse ``pattern`` (the supported subset) into a small syntax tree."""
    return _Parser(pattern).parse()


# ---------------------------------------------------------------- lengths and capping
def max_len(node: Node) -> int | None:
    """Most characters ``node`` matches (None: unbounded)."""
    if isinstance(node, Lit):
        return len(node.text)
    if isinstance(node, CharClass):
        return 1
    children = node.items if isinstance(node, Seq) else node.options if isinstance(node, Alt) else (node.item,)
    parts = [max_len(n) for n in children]
    if any(p is None for p in parts):
        return None
    sizes = [p for p in parts if p is not None]
    if isinstance(node, Seq):
        return sum(sizes)
    if isinstance(node, Alt):
        return max(sizes)
    return None if node.hi is None else node.hi * sizes[0]


def _bounded_part(node: Node) -> tuple[int, int]:
    """(longest match with unbounded repeats at their minimum, number of unbounded repeats)."""
    if isinstance(node, Lit | CharClass):
        return max_len(node) or 0, 0
    if isinstance(node, Repeat) and (node.hi is None or max_len(node.item) is None):
        inner, count = _bounded_part(node.item)
        return node.lo * inner, count + (1 if node.hi is None else 0)
    if isinstance(node, Repeat):
        inner, count = _bounded_part(node.item)
        return (node.hi or 0) * inner, count
    results = [_bounded_part(n) for n in (node.items if isinstance(node, Seq) else node.options)]
    if isinstance(node, Seq):
        return sum(r[0] for r in results), sum(r[1] for r in results)
    return max(r[0] for r in results), max(r[1] for r in results)


def cap_unbounded(node: Node, max_chars: int) -> Node:
    """Bound every unbounded repeat so the whole match is at most ``max_chars`` characters.

    The characters left after the bounded parts are shared equally between the
    unbounded repeats; a repeat never drops below its minimum (then the budget is
    simply too small, and the longest match exceeds ``max_chars``). Exact for
    unbounded repeats that are not nested inside another repeat (all judgekit's
    formats); a nested one is capped per occurrence.
    """
    fixed, count = _bounded_part(node)
    if count == 0:
        return node
    share = max(max_chars - fixed, 0) // count

    def walk(n: Node) -> Node:
        if isinstance(n, Seq):
            return Seq(tuple(walk(x) for x in n.items))
        if isinstance(n, Alt):
            return Alt(tuple(walk(x) for x in n.options))
        if isinstance(n, Repeat):
            item = walk(n.item)
            if n.hi is not None:
                return Repeat(item, n.lo, n.hi)
            per_item = max(max_len(item) or 1, 1)
            extra = share // per_item
            return Repeat(item, n.lo, n.lo + extra)
        return n

    return walk(node)


# ---------------------------------------------------------------- GBNF output
def _gbnf_char(ch: str, *, in_class: bool) -> str:
    specials = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\\": "\\\\"}
    if ch in specials:
        return specials[ch]
    if in_class and ch in "]-[":
        return "\\" + ch
    if in_class and ch == "^":  # llama.cpp has no \^ escape
        return "\\x5E"
    if not in_class and ch == '"':
        return '\\"'
    code = ord(ch)
    if code < 0x20 or code == 0x7F:
        return f"\\x{code:02X}"
    return ch


def _emit(node: Node) -> str:
    if isinstance(node, Lit):
        return '"' + "".join(_gbnf_char(c, in_class=False) for c in node.text) + '"'
    if isinstance(node, CharClass):
        body = "".join(
            _gbnf_char(lo, in_class=True) + ("" if lo == hi else "-" + _gbnf_char(hi, in_class=True))
            for lo, hi in node.ranges
        )
        return "[" + ("^" if node.negated else "") + body + "]"
    if isinstance(node, Seq):
        if not node.items:
            return '""'
        return "(" + " ".join(_emit(n) for n in node.items) + ")"
    if isinstance(node, Alt):
        return "(" + " | ".join(_emit(n) for n in node.options) + ")"
    inner = _emit(node.item)
    if node.hi is None:
        suffix = {0: "*", 1: "+"}.get(node.lo, f"{{{node.lo},}}")
    elif node.lo == node.hi:
        suffix = f"{{{node.lo}}}"
    elif (node.lo, node.hi) == (0, 1):
        suffix = "?"
    else:
        suffix = f"{{{node.lo},{node.hi}}}"
    return inner + suffix


def regex_to_gbnf(pattern: str, max_chars: int | None = None) -> str:
    """A GBNF grammar (one ``root`` rule) accepting exactly the strings ``pattern`` fully matches.

    With ``max_chars``, unbounded repeats are capped first (see :func:`cap_unbounded`).
    Raises ``ValueError`` for constructs outside the supported subset.
    """
    node = parse_regex(pattern)
    if max_chars is not None:
        node = cap_unbounded(node, max_chars)
    return f"root ::= {_emit(node)}\n"
