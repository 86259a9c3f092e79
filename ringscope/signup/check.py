"""The repeat-offender decision: risk, tier and the reasons a reviewer can check.

The risk is the posterior probability that the attempt descends from a given offender,
with naive-Bayes evidence from the keys they share. A shared key of kind ``k`` that
``others`` accounts outside the offender set used, in a snapshot of ``actors`` accounts,
weighs (in nats, never below zero)::

    evidence = similarity * log(reuse[k] / (others / actors + base_rate[k]))

``reuse`` is how often a returning offender reuses such a key and the denominator how
often an unrelated newcomer would share it by chance, so a corporate NAT address or a
common name counts for little however exact the match. Keys that say the same thing
are not counted twice: within a family (``identity``: email, email pattern, name, name
look-alike; ``network``: IP, subnet) only the strongest counts; families add up::

    logit(risk) = log(prior / (1 - prior)) - log(offenders) + sum of family evidence
                  + log(cluster score)          (members of unconfirmed rings)

``prior`` is the share of signups that are repeat offenders, spread over the offenders.
When the snapshot has the GNN encoder (``--embeddings``), the offenders nearest the
attempt's inductive embedding are matched too (kind ``embedding``, ``similarity`` the
cosine; :mod:`~ringscope.signup.neighbours`): a family of its own, weighed like a key
whose ``others`` are the unrelated newcomers estimated to come as close to that
offender, with weights that keep it a corroborating signal.

The attempt's risk is that of its best-matching offender: ``block`` from
``SignupConfig.block``, ``review`` from ``SignupConfig.review``, else ``allow``. Up to
``max_matches`` offenders are returned with their keys (kind, similarity, how many other
accounts share it, its evidence and whether it counted), never a raw value.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from ringscope.config import SignupConfig
from ringscope.errors import ConfigError
from ringscope.privacy import Keyring
from ringscope.signup.attempt import SignupAttempt
from ringscope.signup.fuzzy import EXACT_KINDS, attempt_keys
from ringscope.signup.journal import JOURNAL_NAME, read_suspensions
from ringscope.signup.lookup import KeyMatch, Offender, OffenderIndex, load_index
from ringscope.signup.neighbours import open_neighbours
from ringscope.snapshot import read_manifest, resolve_snapshot

if TYPE_CHECKING:
    from ringscope.signup.neighbours import EmbeddingNeighbours
    from ringscope.signup.recalibrate import Calibration

__all__ = ["FAMILY", "TIERS", "SignupChecker", "open_checker", "tier_of"]

#: Decision tiers, weakest first.
TIERS = ("allow", "review", "block")
_ORDER = {kind: i for i, kind in enumerate((*EXACT_KINDS, "name_similar", "embedding"))}
#: Key kinds that carry the same information; only the strongest of a family counts.
FAMILY = {
    "device": "device",
    "phone": "phone",
    "email": "identity",
    "email_pattern": "identity",
    "name": "identity",
    "name_similar": "identity",
    "ip": "network",
    "subnet": "network",
    "embedding": "embedding",
}


def tier_of(risk: float, config: SignupConfig) -> str:
    """The tier of a risk under the configured thresholds."""
    if risk >= config.block:
        return "block"
    if risk >= config.review:
        return "review"
    return "allow"


@dataclass
class SignupChecker:
    """Checks signup attempts against one snapshot's offender index.

    Attributes:
        index: The offender index (appended suspensions included).
        keyring: The keys the snapshot was made with.
        config: Weights and thresholds.
        root: The snapshot root whose suspension journal is followed (None: not followed).
        neighbours: Embedding neighbours of the offenders (None: the snapshot has no
            encoder, or torch is missing).
        calibration: Key-kind scales, prior shift and thresholds learned from reviewers'
            outcomes (None: the configuration as it is).
    """

    index: OffenderIndex
    keyring: Keyring
    config: SignupConfig
    root: Path | None = None
    neighbours: EmbeddingNeighbours | None = None
    # reviewers' outcomes (ringscope.signup.recalibrate); None: the config as it is
    calibration: Calibration | None = None
    _offset: int = field(default=0, repr=False)
    _seen_size: int = field(default=-1, repr=False)

    def refresh(self) -> int:
        """Add suspensions appended to the root's journal since the last call; returns
        how many were added (a stat call when nothing changed)."""
        if self.root is None:
            return 0
        try:
            size = os.stat(self.root / JOURNAL_NAME).st_size
        except FileNotFoundError:
            return 0
        if size == self._seen_size:
            return 0
        entries, self._offset = read_suspensions(
            self.root, key_fingerprint=self.keyring.fingerprint, offset=self._offset
        )
        self._seen_size = size
        for entry in entries:
            self.index.add_suspension(entry)
        return len(entries)

    def _evidence(self, match: KeyMatch) -> float:
        cfg = self.config.matches[match.kind]
        chance = match.others / self.index.n_actors_ + cfg.base_rate
        return max(0.0, match.similarity * math.log(cfg.reuse / min(chance, 1.0)))

    def _scored(self, attempt: SignupAttempt) -> list[tuple[float, Offender, list, float, dict]]:
        """Per matched offender: (risk, offender, reasons, uncalibrated risk, the
        uncalibrated evidence of each counted key kind), riskiest first."""
        self.refresh()
        cfg = self.config
        cal = self.calibration
        keys = attempt_keys(attempt, self.keyring)
        found = self.index.exact(keys)
        for pos, match in self.index.similar_names(
            keys, min_similarity=cfg.name_min_similarity
        ).items():
            found.setdefault(pos, []).append(match)
        if self.neighbours is not None:
            for pos, match in self.neighbours.nearest(keys.keys, self.index).items():
                found.setdefault(pos, []).append(match)
        prior = math.log(cfg.prior / (1.0 - cfg.prior)) - math.log(len(self.index.offenders_) or 1)
        scored = []
        for pos, matches in found.items():
            offender = self.index.offenders_[pos]
            raw = [self._evidence(m) for m in matches]
            evidence = [
                e * (cal.scale(m.kind) if cal else 1.0) for m, e in zip(matches, raw, strict=True)
            ]
            best: dict[str, int] = {}
            for i, m in enumerate(matches):
                family = FAMILY[m.kind]
                if family not in best or evidence[i] > evidence[best[family]]:
                    best[family] = i
            logit = prior + sum(raw[i] for i in best.values())
            if offender.source == "ring":
                logit += math.log(max(offender.cluster_score or 0.0, 1e-6))
            counted_raw = {matches[i].kind: raw[i] for i in best.values()}
            raw_risk = 1.0 / (1.0 + math.exp(-logit))
            if cal is not None:
                logit += cal.shift + sum(evidence[i] - raw[i] for i in best.values())
            risk = 1.0 / (1.0 + math.exp(-logit))
            counted = set(best.values())
            reasons = [
                (m, e, i in counted) for i, (m, e) in enumerate(zip(matches, evidence, strict=True))
            ]
            scored.append((risk, offender, reasons, raw_risk, counted_raw))
        scored.sort(key=lambda item: (-item[0], item[1].actor_id))
        return scored

    def thresholds(self) -> SignupConfig:
        """The tier thresholds in force (recalibrated ones when outcomes moved them)."""
        cal = self.calibration
        if cal is None or cal.review is None:
            return self.config
        return self.config.model_copy(update={"review": cal.review, "block": cal.block})

    def uncalibrated(self, attempt: SignupAttempt) -> tuple[float, dict[str, float]]:
        """The configured model's risk and counted evidence per key kind for an attempt:
        what a recorded outcome keeps, so recalibration always starts from the config."""
        scored = self._scored(attempt)
        if not scored:
            return 0.0, {}
        top = max(scored, key=lambda item: (item[3], item[1].actor_id))
        return top[3], top[4]

    def check(self, attempt: SignupAttempt) -> dict[str, Any]:
        """Risk, decision and matched offenders with reasons for one attempt."""
        top = self._scored(attempt)[: self.config.max_matches]
        risk = round(top[0][0], 4) if top else 0.0
        return {
            "actor_id": attempt.actor_id,
            "risk": risk,
            "decision": tier_of(risk, self.thresholds()),
            "matches": [_match_json(*item[:3]) for item in top],
            "clusters": sorted({o.cluster_id for _, o, *_ in top if o.cluster_id}),
            "snapshot_id": self.index.snapshot_id,
        }


def _match_json(
    risk: float, offender: Offender, reasons: list[tuple[KeyMatch, float, bool]]
) -> dict[str, Any]:
    ordered = sorted(reasons, key=lambda r: _ORDER[r[0].kind])
    return {
        "actor_id": offender.actor_id,
        "source": offender.source,
        "cluster_id": offender.cluster_id,
        "cluster_score": offender.cluster_score,
        "risk": round(risk, 4),
        "reasons": [
            {
                "key": m.kind,
                "similarity": m.similarity,
                "shared_with_others": m.others,
                "evidence": round(e, 3),
                "counted": counted,
            }
            for m, e, counted in ordered
        ],
    }


def open_checker(
    snapshot: Path, *, keyring: Keyring, config: SignupConfig | None = None
) -> SignupChecker:
    """A checker over a snapshot (or the ``LATEST`` of a root), following the root's
    suspension journal.

    Args:
        snapshot: A snapshot directory or a snapshot root.
        keyring: Must be the keyring the snapshot was made with.
        config: Weights and thresholds; default: the snapshot's own ``signup`` config.

    Raises:
        SnapshotError: No snapshot, or one without an offender index.
        ConfigError: The keyring is not the snapshot's (no key could ever match).
    """
    snap = resolve_snapshot(Path(snapshot))
    manifest = read_manifest(snap)
    fingerprint = manifest.get("key_fingerprint")
    if fingerprint != keyring.fingerprint:
        raise ConfigError(
            f"the secret key does not match snapshot {snap.name} (key fingerprint "
            f"{keyring.fingerprint}, snapshot {fingerprint}): set RINGSCOPE_SECRET_KEY to "
            "the secret the snapshot was made with"
        )
    if config is None:
        try:
            config = SignupConfig.model_validate(manifest.get("config", {}).get("signup", {}))
        except ValidationError as exc:
            where = ".".join(str(p) for p in exc.errors()[0]["loc"])
            raise ConfigError(
                f"snapshot {snap.name} has a signup config this version cannot read "
                f"({where}); pass a config file with a signup section"
            ) from None
    index = load_index(snap, snapshot_id=manifest["snapshot_id"], key_fingerprint=fingerprint)
    checker = SignupChecker(
        index=index,
        keyring=keyring,
        config=config,
        root=snap.parent,
        neighbours=open_neighbours(snap, index, config),
    )
    checker.refresh()
    return checker
