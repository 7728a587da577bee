"""Regex -> GBNF translation, table-tested against every regex judgekit's formats and protocols send.

The emitted grammar is read back by a small GBNF reader written here (independent of
the translator) into a Python regex, and both are compared on strings drawn from the
pattern and on mutations of them: the grammar must accept exactly what the regex
fully matches.
"""

from __future__ import annotations

import random
import re

import pytest

from judgekit.backends.gbnf import CharClass, Lit, Node, Repeat, Seq, max_len, parse_regex, regex_to_gbnf
from judgekit.core.formats import FORMATS
from judgekit.core.ranking import listwise_format
from judgekit.core.steps import STEP, first_error_format
from judgekit.protocols.chain_rubrics import RMR1
from judgekit.protocols.rethink import BOXED, branch_regex, load_dimensions
from judgekit.protocols.rubric.generate import GENERATE_REGEX
from judgekit.protocols.rubric.protocol import rubric_format
from judgekit.protocols.spct import spct_format


def every_regex() -> dict[str, str]:
    """Each constraint regex judgekit sends, by where it comes from."""
    table = {f"format:{name}": fmt.regex for name, fmt in FORMATS.items()}
    table.update({
        "chain_rubrics": RMR1.regex, "rethink:boxed": BOXED.regex, "rethink:branch": branch_regex(load_dimensions()),
        "rubric:0-1": rubric_format(0, 1).regex, "rubric:2-3": rubric_format(2, 3).regex,
        "spct:2": spct_format(2).regex, "spct:4": spct_format(4).regex, "rubric_gen": GENERATE_REGEX,
        "listwise:2": listwise_format(2).regex, "listwise:4": listwise_format(4).regex,
        "listwise:8": listwise_format(8).regex, "prm:first-error:12": first_error_format(12).regex,
        "prm:step": STEP.regex,
    })
    return table


# ---------------------------------------------------------------- an independent GBNF reader
_GBNF_TOKEN = re.compile(r'"(?:\\.|[^"\\])*"|\[(?:\\.|[^\]\\])*\]|\{\d+(?:,\d*)?\}|[()|*+?]|\s+')


def _gbnf_chars(body: str) -> list[tuple[str, bool]]:
    """Characters of a GBNF string or class body, each with whether it was escaped."""
    out, i = [], 0
    while i < len(body):
        if body[i] != "\\":
            out.append((body[i], False))
            i += 1
        elif body[i + 1] == "x":
            out.append((chr(int(body[i + 2 : i + 4], 16)), True))
            i += 4
        else:
            out.append(({"n": "\n", "t": "\t", "r": "\r"}.get(body[i + 1], body[i + 1]), True))
            i += 2
    return out


def _class_members(body: str) -> str:
    """A GBNF class body as a Python class body: an unescaped '-' between two members is a range."""
    chars, out, k = _gbnf_chars(body), [], 0
    while k < len(chars):
        if k + 2 < len(chars) and chars[k + 1] == ("-", False):
            out.append(re.escape(chars[k][0]) + "-" + re.escape(chars[k + 2][0]))
            k += 3
        else:
            out.append(re.escape(chars[k][0]))
            k += 1
    return "".join(out)


def gbnf_to_python_regex(grammar: str) -> str:
    """Read a one-rule GBNF grammar (as regex_to_gbnf writes it) back into a Python regex."""
    assert grammar.startswith("root ::= ") and grammar.endswith("\n")
    body, out, pos = grammar[len("root ::= ") : -1], [], 0
    while pos < len(body):
        m = _GBNF_TOKEN.match(body, pos)
        assert m, f"unreadable GBNF at {body[pos:]!r}"
        tok, pos = m.group(), m.end()
        if tok.startswith('"'):
            out.append("(?:" + re.escape("".join(c for c, _ in _gbnf_chars(tok[1:-1]))) + ")")
        elif tok.startswith("[^"):
            out.append("[^" + _class_members(tok[2:-1]) + "]")
        elif tok.startswith("["):
            out.append("[" + _class_members(tok[1:-1]) + "]")
        elif tok == "(":
            out.append("(?:")
        elif not tok.isspace():
            out.append(tok)
    return "".join(out)


# ---------------------------------------------------------------- strings drawn from a pattern
POOL = [chr(c) for c in range(32, 127)] + ["\n", "\t", "é", "→", "\u00a0"]


def _in_class(ch: str, node: CharClass) -> bool:
    inside = any(lo <= ch <= hi for lo, hi in node.ranges)
    return inside != node.negated


def draw(node: Node, rng: random.Random) -> str:
    """A random string ``node`` matches (repeats kept short)."""
    if isinstance(node, Lit):
        return node.text
    if isinstance(node, CharClass):
        return rng.choice([c for c in POOL if _in_class(c, node)])
    if isinstance(node, Seq):
        return "".join(draw(n, rng) for n in node.items)
    if isinstance(node, Repeat):
        hi = node.lo + 6 if node.hi is None else min(node.hi, node.lo + 6)
        return "".join(draw(node.item, rng) for _ in range(rng.randint(node.lo, hi)))
    return draw(rng.choice(node.options), rng)


def mutate(text: str, rng: random.Random) -> str:
    i = rng.randrange(len(text) + 1)
    op = rng.choice(("insert", "delete", "replace"))
    if op == "insert" or not text:
        return text[:i] + rng.choice(POOL) + text[i:]
    i = min(i, len(text) - 1)
    return text[:i] + ("" if op == "delete" else rng.choice(POOL)) + text[i + 1 :]


# ---------------------------------------------------------------- tests
def test_core_formats_translate_to_readable_grammars() -> None:
    assert regex_to_gbnf(FORMATS["pairwise"].regex) == (
        'root ::= ("Reasoning: " [^\\n\\[\\]]+ "\\nVerdict: [[" ("A" | "B" | "tie") "]]")\n'
    )
    assert regex_to_gbnf(FORMATS["pointwise"].regex, max_chars=96) == (
        'root ::= ("Reasoning: " [^\\n\\[\\]]{1,75} "\\nScore: " ("10" | [1-9]))\n'
    )
    assert regex_to_gbnf(FORMATS["verify"].regex) == (
        'root ::= ("Reasoning: " [^\\n\\[\\]]+ "\\nVerdict: " ("correct" | "incorrect"))\n'
    )


@pytest.mark.parametrize("name", sorted(every_regex()))
def test_grammar_accepts_exactly_what_the_regex_matches(name: str) -> None:
    pattern = every_regex()[name]
    rng = random.Random(name)
    node = parse_regex(pattern)
    for max_chars in (None, 96, 400):
        back = re.compile(gbnf_to_python_regex(regex_to_gbnf(pattern, max_chars)))
        original = re.compile(pattern)
        for _ in range(60):
            text = draw(node, rng)
            assert original.fullmatch(text), (name, text)
            if max_chars is None:
                assert back.fullmatch(text), (name, text)
            for wrong in (mutate(text, rng), mutate(mutate(text, rng), rng)):
                if back.fullmatch(wrong):  # the grammar never admits what the regex rejects
                    assert original.fullmatch(wrong), (name, wrong)
                elif max_chars is None:
                    assert not original.fullmatch(wrong), (name, wrong)


@pytest.mark.parametrize("name", ["format:pairwise", "format:pointwise", "format:verify", "rubric_gen"])
def test_cap_keeps_the_longest_answer_within_the_budget(name: str) -> None:
    pattern = every_regex()[name]
    for budget in (40, 96, 256):
        capped = parse_regex(gbnf_to_python_regex(regex_to_gbnf(pattern, budget)))
        longest = max_len(capped)
        assert longest is not None
        if name != "rubric_gen":  # its bounded repeats alone exceed small budgets: left as written
            assert longest <= budget
    assert "{1,68}" in regex_to_gbnf(FORMATS["pairwise"].regex, 96)  # 96 - len("Reasoning: \nVerdict: [[tie]]")


@pytest.mark.parametrize(
    ("pattern", "grammar"),
    [
        (r'say "hi"\\', 'root ::= "say \\"hi\\"\\\\"\n'),
        (r"[]^\-a-c\\]x", 'root ::= ([\\]\\x5E\\-a-c\\\\] "x")\n'),
        (r"(?:ab|)+\.\d{2}", 'root ::= (("ab" | "")+ "." [0-9]{2})\n'),
        (r"a.b?\S", 'root ::= ("a" [^\\n] "b"? [^ \\t-\\r])\n'),
        (re.escape("instruction following (v2)"), 'root ::= "instruction following (v2)"\n'),
        ("x{3}y{2,}z*?", 'root ::= ("x"{3} "y"{2,} "z"*)\n'),
    ],
)
def test_escapes_classes_and_quantifiers(pattern: str, grammar: str) -> None:
    assert regex_to_gbnf(pattern) == grammar


@pytest.mark.parametrize(
    ("pattern", "what"),
    [(r"^A$", "anchor"), (r"\bA", "escape"), (r"(?=A)", "group extension"), (r"(A", "missing"),
     (r"A)", "unbalanced"), (r"(a)\1", "escape"), ("[a", "missing"), ("*a", "nothing to repeat"),
     (r"[z-a]", "range"), ("a{3,1}", "max < min"), (r"[\d]", "inside a character class")],
)
def test_unsupported_constructs_are_refused_by_name(pattern: str, what: str) -> None:
    with pytest.raises(ValueError, match=re.escape(what)):
        regex_to_gbnf(pattern)
