"""Building contract event records (CONTRACT.md §1) for one batch of a world.

Generators call the :class:`Emitter` with person indices and times; it resolves account
ids, mints message ids, and fills every record's ``ip`` and ``device_id`` in one
vectorised pass at :meth:`Emitter.flush`. Records are created with ``event_id`` and
``ts`` placeholders (so those keys come first in the output); both are filled when the
batch is put in time order (see :mod:`ringscope.worlds.world`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ringscope.worlds.draws import Dice
from ringscope.worlds.ids import mix64, mix64_int
from ringscope.worlds.people import Population

__all__ = ["Emitter", "IdSource", "id_base"]

Record = dict[str, object]

_PART_BITS = 36


def id_base(day: int, part: int) -> int:
    """First counter value of one (day, part) id range; ranges never overlap.

    ``day`` is -1 for records before the window. Each range holds 2**36 ids.
    """
    return ((day + 2) * 64 + part) << _PART_BITS


def _record(actor_id: str, event_type: str, **fields: object) -> Record:
    """A contract record; ``event_id`` and ``ts`` are filled in when it is emitted."""
    return {"event_id": None, "ts": None, "actor_id": actor_id, "event_type": event_type, **fields}


@dataclass
class IdSource:
    """Counters behind message and event ids for one part of one day.

    Counters start at an :func:`id_base`, and a keyed bijection turns them into opaque
    hex, so ids are unique across the world no matter in which order days are made.
    """

    key: int
    base: int

    def __post_init__(self) -> None:
        self.messages = self.base
        self.events = self.base

    def message_id(self, sender_email: str) -> str:
        """An opaque message id; a quarter carry the sender's mail host, as RFC 5322 ids do."""
        v = mix64_int(self.messages, self.key)
        self.messages += 1
        if (v >> 62) == 0:
            host = sender_email.rpartition("@")[2].lower() or "mail.invalid"
            return f"<{v & 0xFFFFFFFFFFFF:012x}.{v >> 48:04x}@mail.{host}>"
        return f"{v:016x}"

    def event_ids(self, n: int) -> list[str]:
        """n consecutive event ids."""
        x = np.arange(self.events, self.events + n, dtype=np.uint64)
        self.events += n
        return [f"{v:016x}" for v in mix64(x, self.key ^ 0xE7E7).tolist()]


class Emitter:
    """Collects the records of one batch as (time ms, record) pairs.

    Args:
        pop: the frozen population.
        rng: generator for this batch (addresses, message splitting).
        ids: id counters for this batch.
    """

    def __init__(self, pop: Population, rng: np.random.Generator, ids: IdSource) -> None:
        self.pop = pop
        self.rng = rng
        self.dice = Dice(rng)
        self.ids = ids
        self._t: list[int] = []
        self._recs: list[Record] = []
        self._addr_person: list[int] = []
        self._addr_t: list[int] = []
        self._addr_recs: list[Record | list[Record]] = []

    def __len__(self) -> int:
        return len(self._recs)

    def _add(self, t: int, rec: Record, person: int | None) -> None:
        self._t.append(t)
        self._recs.append(rec)
        if person is not None:
            self._addr_person.append(person)
            self._addr_t.append(t)
            self._addr_recs.append(rec)

    def signup(self, person: int, ip: str, device: str) -> None:
        """Account creation with the identity the account registered with."""
        pop = self.pop
        rec = _record(pop.actor_ids[person], "signup", email=pop.emails[person])
        phone = pop.phones[person]
        if phone:
            rec["phone"] = phone
        rec["display_name"] = pop.display_names[person]
        rec["ip"] = ip
        rec["device_id"] = device
        self._add(int(pop.cols["signup_ms"][person]), rec, None)

    def login(self, t: int, person: int) -> None:
        """A login from the person's current address and device."""
        rec = _record(self.pop.actor_ids[person], "login")
        self._add(t, rec, person)

    def profile_update(self, t: int, person: int, display_name: str) -> None:
        """A profile edit: an event type outside the core five (kept as generic activity)."""
        rec = _record(self.pop.actor_ids[person], "profile_update", display_name=display_name)
        self._add(t, rec, person)

    def message(
        self,
        t: int,
        person: int,
        recipients: list[str],
        *,
        subject: str = "",
        text: str = "",
        urls: list[str] | None = None,
        channel: str = "mail",
        split: int = 0,
    ) -> None:
        """One message; with ``split`` > 0, one record per ``split`` recipients (same id).

        A message without recipients is not a message: nothing is emitted.
        """
        if not recipients:
            return
        pop = self.pop
        mid = self.ids.message_id(pop.emails[person])
        actor = pop.actor_ids[person]
        if split <= 0 or len(recipients) <= split:
            rec = _record(actor, "message", message_id=mid, recipients=recipients)
            if subject:
                rec["subject"] = subject
            if text:
                rec["text"] = text
            if urls:
                rec["urls"] = urls
            rec["channel"] = channel
            self._add(t, rec, person)
            return
        group: list[Record] = []
        offset = 0
        for i in range(0, len(recipients), split):
            rec = {
                "event_id": None,
                "ts": None,
                "actor_id": actor,
                "event_type": "message",
                "message_id": mid,
                "recipients": recipients[i : i + split],
            }
            if subject:
                rec["subject"] = subject
            if text:
                rec["text"] = text
            if urls:
                rec["urls"] = urls
            rec["channel"] = channel
            self._t.append(t + offset)
            self._recs.append(rec)
            group.append(rec)
            offset += self.dice.below(1500)
        self._addr_person.append(person)
        self._addr_t.append(t)
        self._addr_recs.append(group)

    def report(self, t: int, reporter: int, target: int, reason: str) -> None:
        """A user report (weak label) of ``target`` by ``reporter``."""
        pop = self.pop
        rec = _record(
            pop.actor_ids[reporter], "report", target_id=pop.actor_ids[target], reason=reason
        )
        self._add(t, rec, reporter)

    def suspension(self, t: int, person: int, reason: str) -> None:
        """A suspension (strong label) by the platform; no address or device."""
        rec = _record(self.pop.actor_ids[person], "suspension", reason=reason)
        self._add(t, rec, None)

    def flush(self) -> tuple[np.ndarray, list[Record]]:
        """Resolve addresses and devices; return (times, records) and reset."""
        if self._addr_person:
            persons = np.asarray(self._addr_person, dtype=np.int64)
            times = np.asarray(self._addr_t, dtype=np.int64)
            ips, devs = self.pop.addresses(self.rng, persons, times)
            for target, ip, dev in zip(self._addr_recs, ips, devs, strict=True):
                if isinstance(target, dict):
                    target["ip"] = ip
                    target["device_id"] = dev
                else:
                    for rec in target:
                        rec["ip"] = ip
                        rec["device_id"] = dev
        t = np.asarray(self._t, dtype=np.int64)
        recs = self._recs
        self._t, self._recs = [], []
        self._addr_person, self._addr_t, self._addr_recs = [], [], []
        return t, recs
