"""Links: a Zipf head of popular sites, a long tail of small sites, campaign domains.

Hosts include multi-label public suffixes (``news.bbc.co.uk``, ``www.abc.net.au``) so
that keying by registered domain is exercised. Campaign domains are built the same way
as long-tail ones, half of them from ordinary words, so the domain string alone does not
give a campaign away; what does is how it is shared.
"""

from __future__ import annotations

import numpy as np

from ringscope.worlds import vocab
from ringscope.worlds.draws import Dice, cdf_list, zipf_weights

__all__ = ["UrlGen", "campaign_url"]

_ID_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_TAIL_SIZE = 20000


def _slug(dice: Dice, n: int) -> str:
    return "-".join(dice.choice(vocab.NOUNS + vocab.ADJECTIVES) for _ in range(n))


def _ident(dice: Dice, n: int) -> str:
    return "".join(_ID_CHARS[dice.below(62)] for _ in range(n))


def _tld_cdf() -> tuple[tuple[str, ...], list[float]]:
    names = tuple(t for t, _ in vocab.TAIL_TLDS)
    return names, cdf_list([w for _, w in vocab.TAIL_TLDS])


class UrlGen:
    """Draws the links people share: popular hosts (Zipf) and a long tail of small sites."""

    def __init__(self, rng: np.random.Generator) -> None:
        dice = Dice(rng)
        tlds, tld_cdf = _tld_cdf()
        words = vocab.NOUNS + vocab.ADJECTIVES + tuple(n.lower() for n in vocab.LAST_NAMES)
        seen: set[str] = set(vocab.POPULAR_HOSTS)
        tail: list[str] = []
        while len(tail) < _TAIL_SIZE:
            a, b = dice.choice(words), dice.choice(words)
            name = a + b if dice.chance(0.6) else f"{a}-{b}"
            if not name.isascii():
                continue
            host = f"{name}.{tlds[dice.weighted(tld_cdf)]}"
            if dice.chance(0.5):
                host = "www." + host
            elif dice.chance(0.1):
                host = dice.choice(("blog.", "shop.", "news.", "m.", "app.")) + host
            if host not in seen:
                seen.add(host)
                tail.append(host)
        self.tail = tuple(tail)
        self.popular = vocab.POPULAR_HOSTS
        self._pop_cdf = cdf_list(zipf_weights(len(self.popular), exponent=1.05))
        self._tail_cdf = cdf_list(zipf_weights(len(self.tail), exponent=0.7))
        self._tlds = tlds
        self._tld_cdf = tld_cdf

    def host(self, dice: Dice, *, tail_share: float = 0.25) -> str:
        """A host someone links to: popular with probability ``1 - tail_share``."""
        if dice.chance(tail_share):
            return self.tail[dice.weighted(self._tail_cdf)]
        return self.popular[dice.weighted(self._pop_cdf)]

    def everyday(self, dice: Dice) -> str:
        """One everyday link with a host-appropriate path."""
        if dice.chance(0.02):
            return f"https://{dice.choice(vocab.SHORTENERS)}/{_ident(dice, 7)}"
        return self.url_on(dice, self.host(dice))

    def url_on(self, dice: Dice, host: str) -> str:
        """A plausible URL on a given host."""
        if "youtube" in host:
            path = f"/watch?v={_ident(dice, 11)}"
        elif host == "youtu.be":
            path = "/" + _ident(dice, 11)
        elif "wikipedia" in host:
            path = "/wiki/" + dice.choice(vocab.NOUNS).capitalize()
        elif "spotify" in host or "music.apple" in host:
            path = f"/{dice.choice(('track', 'album', 'playlist'))}/{_ident(dice, 22)}"
        elif host.startswith(("docs.", "drive.")):
            path = f"/document/d/{_ident(dice, 44)}/edit"
        elif dice.chance(0.45):
            path = f"/2026/{dice.between(8, 10):02d}/{dice.between(1, 28):02d}/{_slug(dice, 4)}"
        elif dice.chance(0.3):
            path = f"/p/{dice.digits(dice.between(5, 9))}"
        elif dice.chance(0.3):
            path = "/"
        else:
            path = "/" + _slug(dice, dice.between(1, 3))
        scheme = "https" if dice.chance(0.95) else "http"
        return f"{scheme}://{host}{path}"

    def new_domain(self, dice: Dice, *, spammy: bool) -> str:
        """A fresh registered domain, from campaign words when ``spammy``."""
        a = dice.choice(vocab.SPAMMY_WORDS if spammy else vocab.NOUNS + vocab.ADJECTIVES)
        b = dice.choice(vocab.SPAMMY_WORDS if spammy else vocab.NOUNS)
        name = a + b if dice.chance(0.5) else f"{a}-{b}"
        if dice.chance(0.3):
            name += str(dice.between(1, 99))
        if spammy and dice.chance(0.5):
            tld = dice.choice(("top", "xyz", "click", "shop", "online", "site", "info", "live"))
        else:
            tld = self._tlds[dice.weighted(self._tld_cdf)]
        return f"{name}.{tld}"


def campaign_url(dice: Dice, domain: str, *, shortener_share: float = 0.0) -> str:
    """A campaign link on ``domain`` with a varied subdomain, path and tracking query."""
    if shortener_share and dice.chance(shortener_share):
        return f"https://{dice.choice(vocab.SHORTENERS)}/{_ident(dice, 7)}"
    r = dice.random()
    if r < 0.35:
        host = domain
    elif r < 0.6:
        host = "www." + domain
    elif r < 0.8:
        host = dice.choice(("secure", "go", "app", "my", "login", "get", "info", "promo")) + "."
        host += domain
    else:
        host = _ident(dice, dice.between(3, 6)).lower().replace("-", "").replace("_", "")
        host = (host or "x") + "." + domain
    r = dice.random()
    if r < 0.3:
        path = f"/c/{dice.code(6).lower()}"
    elif r < 0.55:
        path = f"/{dice.choice(vocab.SPAMMY_WORDS)}/{dice.code(5)}"
    elif r < 0.75:
        path = f"/?id={dice.digits(dice.between(5, 8))}"
    else:
        path = f"/r/{_ident(dice, 8)}"
    if dice.chance(0.4):
        sep = "&" if "?" in path else "?"
        path += f"{sep}utm_source={dice.choice(('mail', 'sms', 'inv', 'card', 'm'))}"
    return f"https://{host}{path}"
