"""Message text: free-form sentences for people, spin templates for campaigns.

Legit bodies are assembled from sentence patterns over a vocabulary of about a thousand
words, so two legit messages rarely share more than a few common bigrams. Campaign
bodies come from spin templates (``{a|b|c}`` choices, nested, plus ``[slot]``
placeholders for names, numbers, codes and links), which is how real spam tools make
near-duplicates that dodge exact-match filters.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from ringscope.worlds import vocab
from ringscope.worlds.draws import Dice

__all__ = ["Spin", "TextGen", "subject_for"]

# Sentence patterns: slots in braces are filled from the vocabulary.
_PATTERNS = (
    "Can you {V} the {N} {T}?",
    "I {VP} the {A} {N} {T}.",
    "We should {V} the {N} {P} the {N}.",
    "Did you {V} the {N} {T}?",
    "The {N} was {ADV} {A}.",
    "Are you {VING} the {N} {T}?",
    "I'm {ADV} {A} about the {N}.",
    "Let's {V} the {N} {T}.",
    "{ADVC} {VP} my {N} {P} the {N}.",
    "Don't forget to {V} the {N} {T}.",
    "My {N} {VP} the {A} {N} {T}.",
    "How was the {N}?",
    "Thanks for {VING} the {N}!",
    "Is the {N} still {A}?",
    "I think we need a {A} {N} for the {N}.",
    "Just {VP} the {N}, it looks {A}.",
    "Shall I {V} some {N} {T}?",
    "The {A} {N} {P} the {N} is {ADV} {A}.",
    "Remember the {N} {P} the {N}? So {A}.",
    "Who is {VING} the {N} {T}?",
    "{TC} I {VP} a {A} {N}.",
    "No worries about the {N}, I can {V} it {T}.",
    "We {VP} the {N} and {VP} the {N}.",
    "Any chance you could {V} my {N} {T}?",
    "Not sure the {N} is {A} enough.",
    "Got your {N}, {ADV} {A}!",
    "Running late, {VING} the {N} first.",
    "Should we {V} a {N} or just {V} the {N}?",
    "The {N} is {A} but the {N} is {A}.",
    "{NAME} said the {N} is {ADV} {A}.",
)
_SLOT = re.compile(r"\{([A-Z]+)\}")
_SHORT = ("ok!", "haha", "lol", "sounds good", "yes please", "on my way", "sure", "nice one")


def _compile(pattern: str) -> list[str]:
    """Split a pattern into alternating literal and slot parts (slots at odd positions)."""
    return _SLOT.split(pattern)


class TextGen:
    """Free-form message bodies for legit actors, unique with high probability."""

    def __init__(self) -> None:
        slots: dict[str, tuple[str, ...]] = {
            "V": vocab.VERBS,
            "VP": vocab.VERBS_PAST,
            "VING": vocab.VERBS_ING,
            "N": vocab.NOUNS,
            "A": vocab.ADJECTIVES,
            "ADV": vocab.ADVERBS,
            "ADVC": tuple(w.capitalize() for w in vocab.ADVERBS),
            "P": vocab.PREPOSITIONS,
            "T": vocab.TIMES,
            "TC": tuple(t[0].upper() + t[1:] + "," for t in vocab.TIMES),
            "NAME": vocab.FIRST_NAMES,
        }
        self._patterns: list[tuple[tuple[tuple[str, tuple[str, ...], int], ...], str]] = []
        for p in _PATTERNS:
            parts = _compile(p)
            pieces = tuple(
                (parts[i], slots[parts[i + 1]], len(slots[parts[i + 1]]))
                for i in range(0, len(parts) - 1, 2)
            )
            self._patterns.append((pieces, parts[-1]))
        self._width = 1 + max(len(pieces) for pieces, _ in self._patterns)

    def sentence(self, dice: Dice) -> str:
        """One sentence from a random pattern."""
        u = dice.take(self._width)
        pieces, tail = self._patterns[int(u[0] * len(self._patterns))]
        words = [lit + table[int(x * n)] for (lit, table, n), x in zip(pieces, u[1:], strict=False)]
        return "".join(words) + tail

    def body(self, dice: Dice, *, name: str | None = None, max_sentences: int = 4) -> str:
        """A short personal message: optional greeting, 1-4 sentences, optional closing."""
        u = dice.take(5)
        if u[0] < 0.06:
            return _SHORT[int(u[1] * len(_SHORT))]
        n = 1 + int(u[1] ** 1.6 * max_sentences)
        width, patterns = self._width, self._patterns
        draws = dice.take(width * n)
        parts: list[str] = []
        if name and u[2] < 0.3:
            parts.append(f"{vocab.GREETINGS[int(u[3] * len(vocab.GREETINGS))]} {name},")
        for k in range(0, width * n, width):
            pieces, tail = patterns[int(draws[k] * len(patterns))]
            words = [
                lit + table[int(x * m)]
                for (lit, table, m), x in zip(pieces, draws[k + 1 : k + width], strict=False)
            ]
            parts.append("".join(words) + tail)
        if u[4] < 0.2:
            parts.append(vocab.CLOSINGS[int(u[4] * 5 * len(vocab.CLOSINGS))])
        return " ".join(parts)


_SUBJECTS = (
    "{N} {T}",
    "{AC} {N}",
    "Quick question",
    "{NC}?",
    "About the {N}",
    "{NC} plans",
    "Photos from the {N}",
    "{NC} {T}",
    "Re: {N}",
    "Fwd: {A} {N}",
    "{NC} update",
    "Your {N}",
    "{NC} and {N}",
    "Did you see this",
    "{AC} news",
)


def subject_for(key: int) -> str:
    """A deterministic everyday subject line for an integer key.

    Deterministic so a reply ("Re: ...") can repeat the subject of a message that was
    materialised in another batch.
    """
    parts = _SUBJECT_PARTS[key % len(_SUBJECT_PARTS)]
    key //= len(_SUBJECT_PARTS)
    out = []
    for i, part in enumerate(parts):
        if i % 2:
            words = _SUBJECT_SLOTS[part]
            out.append(words[key % len(words)])
            key //= len(words)
        else:
            out.append(part)
    return "".join(out)


_SUBJECT_PARTS = [_compile(s) for s in _SUBJECTS]
_SUBJECT_SLOTS = {
    "N": vocab.NOUNS,
    "NC": tuple(w.capitalize() for w in vocab.NOUNS),
    "A": vocab.ADJECTIVES,
    "AC": tuple(w.capitalize() for w in vocab.ADJECTIVES),
    "T": vocab.TIMES,
}


# --- spin templates -------------------------------------------------------------------


class _Slot(str):
    """A ``[name]`` placeholder inside a compiled spin template."""

    __slots__ = ()


# A compiled sequence: literals (str), placeholders (_Slot) and choices (tuple of sequences).
_Seq = tuple[object, ...]

_TOKEN = re.compile(r"[{}|]")
_PLACEHOLDER = re.compile(r"\[([a-z0-9_]+)\]")


def _literal(text: str) -> list[object]:
    """Split literal text into strings and placeholders."""
    parts = _PLACEHOLDER.split(text)
    return [_Slot(p) if i % 2 else p for i, p in enumerate(parts) if p or i % 2]


def _parse(template: str) -> _Seq:
    """Parse ``{a|b{c|d}}`` spin syntax into nested tuples (choices) of sequences."""
    pos = 0

    def seq(depth: int) -> tuple[_Seq, str | None]:
        nonlocal pos
        node: list[object] = []
        while pos < len(template):
            m = _TOKEN.search(template, pos)
            if m is None:
                node.extend(_literal(template[pos:]))
                pos = len(template)
                break
            if m.start() > pos:
                node.extend(_literal(template[pos : m.start()]))
            pos = m.end()
            tok = m.group()
            if tok == "{":
                options: list[_Seq] = []
                while True:
                    opt, end = seq(depth + 1)
                    options.append(opt)
                    if end == "}":
                        break
                    if end is None:
                        raise ValueError(f"unclosed '{{' in spin template: {template!r}")
                node.append(tuple(options))
            elif depth == 0:
                raise ValueError(f"unexpected {tok!r} in spin template: {template!r}")
            else:
                return tuple(node), tok
        return tuple(node), None

    tree, _ = seq(0)
    return tree


class Spin:
    """A spin template; each render picks one option per choice and fills placeholders.

    Placeholders like ``[name]`` are looked up in the mapping given to :meth:`render`;
    values may be strings or zero-argument callables (fresh random values per use).
    """

    def __init__(self, template: str) -> None:
        self.template = template
        self._tree = _parse(template)

    def render(self, dice: Dice, slots: Mapping[str, str | Callable[[], str]]) -> str:
        """One rendering: random options, filled placeholders, tidied whitespace."""
        out: list[str] = []
        rand = dice.random

        def walk(seq: _Seq) -> None:
            for item in seq:
                cls = item.__class__
                if cls is str:
                    out.append(item)  # type: ignore[arg-type]
                elif cls is _Slot:
                    v = slots.get(item, "")  # type: ignore[call-overload]
                    out.append(v() if callable(v) else v)
                else:
                    walk(item[int(rand() * len(item))])  # type: ignore[index, arg-type]

        walk(self._tree)
        return " ".join("".join(out).split())
