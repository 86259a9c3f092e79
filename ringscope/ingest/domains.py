"""Reduce URLs to the registered domain they point at (``a.b.example.co.uk`` -> ``example.co.uk``).

The public-suffix list is tldextract's bundled snapshot, used strictly offline (no
suffix-list URL, no cache directory), so ingest never touches the network and gives
the same answer on every machine with the same tldextract version.

Hosts are pulled out of the URLs with one regular expression over the whole column;
the suffix lookup then runs once per distinct host and is cached across batches.

A URL whose host is an IP address has no domain, but a link to a bare IP is a strong
coordination signal, and the IP is personal-ish data: it becomes ``ip:<pseudonym>``
(keyed hash of the canonical IP, kind ``url_ip``), so shared IP links still connect
actors without the IP appearing in any output. Hosts that are garbage or have no
registered domain (``localhost``, a bare suffix) are ignored, not rejected.

A link through a URL shortener (``bit.ly/3xYz``) says nothing by its domain: unrelated
campaigns and ordinary users share ``bit.ly``. Its key is the short link itself,
``bit.ly/3xYz``, which identifies the destination, so one campaign's short link still
ties its senders together and a shortener never glues unrelated senders.
"""

from __future__ import annotations

import polars as pl
import tldextract

from ringscope.ingest.normalize import normalize_ip
from ringscope.privacy import Keyring

__all__ = ["SHORTENERS", "URL_IP_KIND", "DomainResolver", "extract_hosts"]

URL_IP_KIND = "url_ip"

#: Registered domains of common URL shorteners and redirectors.
SHORTENERS = frozenset(
    (
        "adf.ly",
        "amzn.to",
        "bit.ly",
        "bitly.com",
        "bl.ink",
        "buff.ly",
        "clck.ru",
        "cutt.ly",
        "dlvr.it",
        "fb.me",
        "goo.gl",
        "is.gd",
        "lnkd.in",
        "ow.ly",
        "qr.ae",
        "rb.gy",
        "rebrand.ly",
        "s.id",
        "shorte.st",
        "shorturl.at",
        "soo.gd",
        "t.co",
        "t.ly",
        "tiny.cc",
        "tinyurl.com",
        "trib.al",
        "v.gd",
        "youtu.be",
    )
)
_SHORT_CODE = r"^(?:[A-Za-z][A-Za-z0-9+.\-]*://)?[^/?#]+/([A-Za-z0-9_\-]+)"


# The common shape, scheme://host[:port][/...], in one cheap pass; the rest goes slow.
_PLAIN_URL = r"^[A-Za-z][A-Za-z0-9+.\-]*://([A-Za-z0-9.\-]+)(?:[/?#:]|$)"


def _hosts_slow(urls: pl.Expr) -> pl.Expr:
    """Host of any URL form: no scheme, ``//host``, ``mailto:``, user info, [IPv6], port."""
    rest = (
        urls.str.strip_chars()
        .str.replace(r"^(?:[A-Za-z][A-Za-z0-9+.\-]*:)?//", "")
        .str.replace(r"^(?i:mailto):", "")
    )
    authority = rest.str.extract(r"^([^/?#\\\s]*)", 1).str.replace(r"^.*@", "")
    return (
        pl.when(authority.str.starts_with("["))
        .then(authority.str.extract(r"^\[([^\]]*)\]", 1))
        .otherwise(authority.str.replace(r":.*$", ""))
    )


def extract_hosts(urls: pl.Series) -> pl.Series:
    """Lower-cased host of each URL (no port, user info, brackets or trailing dot); null if none.

    Accepts URLs with or without a scheme (``example.com/x``, ``//cdn.example.com``),
    ``mailto:`` addresses, IPv6 literals in brackets, user info and ports.
    """
    urls = urls.cast(pl.Utf8)
    hosts = urls.str.extract(_PLAIN_URL, 1)
    slow = (hosts.is_null() & urls.is_not_null()).arg_true()
    if len(slow):
        others = urls.gather(slow).to_frame("url").select(_hosts_slow(pl.col("url"))).to_series()
        hosts = hosts.scatter(slow, others)
    return (
        hosts.to_frame("host")
        .select(
            pl.when(pl.col("host").str.len_bytes() > 0).then(
                pl.col("host").str.to_lowercase().str.strip_chars_end(".")
            )
        )
        .to_series()
        .rename(urls.name)
    )


class DomainResolver:
    """Maps URL columns to registered-domain columns, offline, caching per host."""

    def __init__(self, *, keyring: Keyring) -> None:
        self._keyring = keyring
        self._extract = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)
        self._cache: dict[str, str | None] = {}

    def domain_of_host(self, host: str) -> str | None:
        """Registered domain of one lower-cased host, ``ip:<hash>`` for an IP, or None."""
        if host in self._cache:
            return self._cache[host]
        ip = normalize_ip(host)
        if ip is not None:
            domain: str | None = "ip:" + self._keyring.hash(URL_IP_KIND, ip[0])
        else:
            domain = self._extract(host).top_domain_under_public_suffix or None
            if domain is not None and (" " in domain or len(domain) > 253):
                domain = None
        self._cache[host] = domain
        return domain

    def domains(self, urls: pl.Series) -> pl.Series:
        """For a column of URL lists, the list of distinct registered domains of each row.

        Hosts are extracted once per distinct URL and resolved once per distinct host.
        Order follows first appearance in the row; rows with null URLs stay null.
        """
        exploded = (
            pl.DataFrame({"url": urls}).with_row_index("row").explode("url", empty_as_null=True)
        )
        distinct = exploded.select(pl.col("url").drop_nulls().unique())
        hosts = distinct.with_columns(host=extract_hosts(distinct["url"]))
        known = hosts["host"].drop_nulls().unique().to_list()
        resolved = [self.domain_of_host(host) for host in known]
        by_host = pl.DataFrame(
            {"host": pl.Series(known, dtype=pl.Utf8), "domain": pl.Series(resolved, dtype=pl.Utf8)}
        )
        code = pl.col("url").str.extract(_SHORT_CODE, 1)
        short = pl.col("domain").is_in(list(SHORTENERS)) & code.is_not_null()
        by_url = (
            hosts.join(by_host, on="host", how="left")
            .select("url", "domain")
            .with_columns(
                pl.when(short)
                .then(pl.col("domain") + "/" + code)
                .otherwise("domain")
                .alias("domain")
            )
        )
        grouped = (
            exploded.join(by_url, on="url", how="left", maintain_order="left")
            .group_by("row", maintain_order=True)
            .agg(pl.col("domain").drop_nulls().unique(maintain_order=True))
        )
        return grouped.select(
            pl.when(urls.is_not_null()).then(pl.col("domain")).alias(urls.name)
        ).to_series()
