"""Account identities: display names, email addresses and phone numbers.

Ring accounts and legit accounts draw from the same generators (same providers, same
local-part formats), so an address alone never tells them apart. Re-registration
variants (``johnsmith82`` -> ``johnsmith83``, dot and plus tricks) live here too.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import numpy as np

from ringscope.worlds import vocab
from ringscope.worlds.draws import Dice, HashDice, cdf_list, zipf_weights

__all__ = [
    "Names",
    "email_for",
    "email_variant",
    "external_address",
    "phone_number",
    "similar_display_name",
]

_PROVIDERS = tuple(p for p, _ in vocab.EMAIL_PROVIDERS)
_PROVIDER_CDF = cdf_list([w for _, w in vocab.EMAIL_PROVIDERS])
_HANDLE_WORDS = (
    "cool",
    "happy",
    "sunny",
    "blue",
    "gamer",
    "pixel",
    "star",
    "wolf",
    "tiger",
    "moon",
    "music",
    "travel",
    "coffee",
    "lucky",
    "ninja",
    "rocket",
)


def _ascii(s: str) -> str:
    s = s.replace("ø", "o").replace("Ø", "O").replace("ß", "ss")
    return unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode()


_FIRST_CDF = cdf_list(zipf_weights(len(vocab.FIRST_NAMES), exponent=0.9))
_LAST_CDF = cdf_list(zipf_weights(len(vocab.LAST_NAMES), exponent=0.9))
_FIRST_ASCII = tuple(_ascii(n).lower() for n in vocab.FIRST_NAMES)
_LAST_ASCII = tuple(_ascii(n).lower() for n in vocab.LAST_NAMES)


class Names:
    """Zipf-weighted first and last names, so common full names recur."""

    first_cdf = np.asarray(_FIRST_CDF)
    last_cdf = np.asarray(_LAST_CDF)

    @classmethod
    def sample(cls, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Indices into FIRST_NAMES and LAST_NAMES for n people."""
        first = np.searchsorted(cls.first_cdf, rng.random(n), side="right")
        last = np.searchsorted(cls.last_cdf, rng.random(n), side="right")
        first = np.minimum(first, len(vocab.FIRST_NAMES) - 1).astype(np.int16)
        last = np.minimum(last, len(vocab.LAST_NAMES) - 1).astype(np.int16)
        return first, last

    @staticmethod
    def display(first: int, last: int, dice: Dice) -> str:
        """A profile name as people type it: mostly "First Last", some variants."""
        f, la = vocab.FIRST_NAMES[first], vocab.LAST_NAMES[last]
        r = dice.random()
        if r < 0.72:
            return f"{f} {la}"
        if r < 0.78:
            return f"{f} {la}".lower()
        if r < 0.86:
            return f"{f} {la[0]}."
        if r < 0.93:
            return f
        if r < 0.97:
            return f"{f[0]}. {la}"
        return f"{f} {la} {dice.choice(('Jr', 'II', '✨', '🙂', ''))}".strip()


def email_for(first: int, last: int, dice: Dice, *, domain: str | None = None) -> str:
    """An address in one of the usual local-part formats at a weighted provider."""
    f, la = _FIRST_ASCII[first], _LAST_ASCII[last]
    nn = f"{dice.between(0, 99):02d}"
    yyyy = str(dice.between(1955, 2008))
    r = dice.random()
    if r < 0.14:
        local = f"{f}.{la}"
    elif r < 0.28:
        local = f"{f}.{la}{nn}"
    elif r < 0.37:
        local = f"{f}{la}"
    elif r < 0.51:
        local = f"{f}{la}{nn}"
    elif r < 0.56:
        local = f"{f}_{la}"
    elif r < 0.63:
        local = f"{f[0]}{la}"
    elif r < 0.70:
        local = f"{f[0]}{la}{nn}"
    elif r < 0.73:
        local = f"{f}.{la[0]}"
    elif r < 0.80:
        local = f"{f}{yyyy}"
    elif r < 0.83:
        local = f"{la}.{f}"
    elif r < 0.89:
        local = f"{f}{dice.between(1, 999)}"
    else:
        local = f"{dice.choice(_HANDLE_WORDS)}{f}{dice.between(1, 9999)}"
    if domain is None:
        domain = _PROVIDERS[dice.weighted(_PROVIDER_CDF)]
    addr = f"{local}@{domain}"
    if dice.chance(0.03):
        addr = local.capitalize() + "@" + domain.capitalize()
    return addr


@lru_cache(maxsize=262_144)
def external_address(key: int) -> str:
    """A deterministic off-platform address for an integer key (contacts, spam lists)."""
    dice = HashDice(key ^ 0x5EED_E1)
    first = dice.weighted(_FIRST_CDF)
    last = dice.weighted(_LAST_CDF)
    return email_for(first, last, dice).lower()


def phone_number(dice: Dice) -> str:
    """A phone number in one of several national formats, as users type them."""
    r = dice.random()
    if r < 0.45:
        area, mid, end = dice.between(201, 989), dice.between(200, 999), dice.digits(4)
        style = dice.below(4)
        if style == 0:
            return f"+1 {area}-{mid}-{end}"
        if style == 1:
            return f"({area}) {mid}-{end}"
        if style == 2:
            return f"{area}{mid}{end}"
        return f"+1{area}{mid}{end}"
    if r < 0.7:
        num = f"7{dice.digits(3)} {dice.digits(6)}"
        return f"+44 {num}" if dice.chance(0.6) else f"0{num}"
    if r < 0.85:
        return f"+49 1{dice.between(50, 79)} {dice.digits(8)}"
    if r < 0.93:
        return f"+33 6 {dice.digits(2)} {dice.digits(2)} {dice.digits(2)} {dice.digits(2)}"
    return f"+91 {dice.between(70, 99)}{dice.digits(3)} {dice.digits(5)}"


_TRAILING_DIGITS = re.compile(r"^(.*?)(\d+)$")


def email_variant(email: str, dice: Dice) -> str:
    """A re-registration address close to ``email``: next number, dot, plus or provider."""
    local, _, domain = email.lower().partition("@")
    base_local = local.split("+")[0]
    r = dice.random()
    m = _TRAILING_DIGITS.match(base_local)
    if r < 0.35:
        if m:
            head, digits = m.groups()
            return f"{head}{int(digits) + dice.between(1, 3):0{len(digits)}d}@{domain}"
        return f"{base_local}{dice.between(1, 99)}@{domain}"
    if r < 0.55 and len(base_local) > 3:
        plain = base_local.replace(".", "")
        cut = dice.between(1, len(plain) - 2)
        return f"{plain[:cut]}.{plain[cut:]}@{domain}"
    if r < 0.75:
        tag = dice.choice(("1", "2", "new", "alt", "x", str(dice.between(1, 99))))
        return f"{base_local}+{tag}@{domain}"
    if r < 0.88:
        other = _PROVIDERS[dice.weighted(_PROVIDER_CDF)]
        if other == domain:
            other = "outlook.com" if domain != "outlook.com" else "gmail.com"
        return f"{base_local}@{other}"
    swapped = base_local.replace(".", "_") if "." in base_local else base_local + "_"
    return f"{swapped}{dice.between(0, 9)}@{domain}"


def similar_display_name(name: str, dice: Dice) -> str:
    """A profile name a returning user would pick: same, abbreviated, re-cased or tagged."""
    parts = name.split()
    r = dice.random()
    if r < 0.3 or not parts:
        return name
    if r < 0.45:
        return name.lower()
    if r < 0.6 and len(parts) >= 2:
        return f"{parts[0]} {parts[-1][0]}."
    if r < 0.72 and len(parts) >= 2:
        return f"{parts[0][0]}. {parts[-1]}"
    if r < 0.85:
        return f"{name} {dice.between(1, 9)}"
    if r < 0.93 and len(parts) >= 2:
        return f"{parts[-1]} {parts[0]}"
    return f"{parts[0]}{dice.choice(('y', 'ie', 'o', ''))} {' '.join(parts[1:])}".strip()
