"""The population: accounts with identities, networks, devices, communities and rhythms.

Everyone, legit or not, lives in one :class:`Population`; scenarios (rings and
look-alikes) take legit-looking defaults and override only what their story needs
(a bot farm's shared devices, a re-registered account's email). The network model has
residential ISP pools where many unrelated households share a /24 and addresses rotate
with DHCP leases, mobile carrier CGNAT pools, VPN and hosting ranges, and office NATs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ringscope.worlds.draws import Dice
from ringscope.worlds.identity import Names, email_for, phone_number
from ringscope.worlds.ids import hex64, mix32, mix64, uuid_like
from ringscope.worlds.vocab import FIRST_NAMES

__all__ = [
    "DAY_MS",
    "HOUR_MS",
    "INF_MS",
    "MAX_DELAY_MS",
    "MIN_MS",
    "NIGHT",
    "PERSONAL",
    "WORK",
    "Network",
    "Population",
]

MIN_MS = 60_000
HOUR_MS = 60 * MIN_MS
DAY_MS = 24 * HOUR_MS
INF_MS = 2**62
#: Longest delay of a consequence (reply, report) after its cause: under a day, so each
#: day's records depend only on that day's and the previous day's plans.
MAX_DELAY_MS = 20 * HOUR_MS

PERSONAL, WORK, NIGHT = 0, 1, 2


def _nums(text: str) -> list[float]:
    return [float(x) for x in text.split()]


_HOUR_WEIGHTS = np.array(
    [
        # personal: lunch and evening peaks
        _nums("1 .6 .3 .2 .2 .3 .8 2 3 3 3 3.5 4 3.5 3 3 3.5 4 5 6 6.5 6 4.5 2.5"),
        # work: office hours
        _nums(".2 .1 .1 .1 .1 .2 .5 2 5 7 7 6.5 5 6 7 7 6 4 2 1.2 1 .8 .6 .4"),
        # night owl
        _nums("4 4 3 2 1 .5 .3 .3 .5 1 1.5 2 2.5 2.5 2.5 2.5 3 3.5 4 4.5 5 5.5 5.5 5"),
    ],
    dtype=np.float64,
)  # local-hour activity weights per profile
HOUR_CDF = np.cumsum(_HOUR_WEIGHTS / _HOUR_WEIGHTS.sum(axis=1, keepdims=True), axis=1)
HOUR_CDF[:, -1] = 1.0
# Activity multiplier by weekday (Monday first) per profile.
WEEKDAY_FACTOR = np.array(
    [
        [1.0, 0.95, 1.0, 1.0, 1.05, 1.2, 1.15],
        [1.1, 1.1, 1.1, 1.05, 1.0, 0.25, 0.2],
        [1.0, 1.0, 1.0, 1.0, 1.05, 1.1, 1.1],
    ]
)
_TZ = np.array([-8, -7, -6, -5, -3, 0, 1, 2, 3, 5, 8, 9], dtype=np.int8)
_TZ_W = np.array([8, 3, 6, 10, 3, 12, 16, 6, 3, 6, 4, 3], dtype=np.float64)

# First octets of public IPv4 space the synthetic ISPs and hosts are carved from.
_RES_OCTETS = tuple(
    int(x)
    for x in _nums(
        "24 31 37 46 62 66 67 68 71 73 76 78 79 80 81 82 83 84 86 87 88 89 90 91 92 93 94 95 98"
        " 99 108 109 151 176 178 188 212 213 217"
    )
)
_HOST_OCTETS = tuple(
    int(x) for x in _nums("5 23 34 35 45 52 54 64 104 137 139 142 146 159 165 167 185 194 195 198")
)

RES, CARRIER, HOSTING = 0, 1, 2
_N_CARRIERS, _CARRIER_SUBNETS = 6, 8
_N_VPN, _N_HOSTING = 16, 96


@dataclass
class _Households:
    subnet: list[np.ndarray] = field(default_factory=list)
    v6: list[np.ndarray] = field(default_factory=list)
    lease_h: list[np.ndarray] = field(default_factory=list)
    phase_h: list[np.ndarray] = field(default_factory=list)
    rotate: list[np.ndarray] = field(default_factory=list)


class Network:
    """Address space and households (a household is one home/office connection).

    Args:
        rng: generator for the layout of the address space.
        n_people: expected population, to size residential pools (~10 households per /24).
        mobile_hosts: public addresses per carrier /24 that mobile traffic leaves from;
            a few put thousands of users behind each address, as a carrier NAT does.
    """

    def __init__(self, rng: np.random.Generator, *, n_people: int, mobile_hosts: int = 254) -> None:
        self.mobile_hosts = mobile_hosts
        n_res = max(64, n_people // 9)
        n_isps = 40
        isp_w = 1.0 / np.arange(1, n_isps + 1) ** 0.8
        isp_of = rng.choice(n_isps, size=n_res, p=isp_w / isp_w.sum())
        need = np.bincount(isp_of, minlength=n_isps)
        # each ISP owns enough /16s to stay well below full (at most ~40% of /24s used)
        isp_prefixes = [
            [
                (int(rng.choice(_RES_OCTETS)), int(rng.integers(0, 256)))
                for _ in range(1 + k % 4 + int(need[k]) // 100)
            ]
            for k in range(n_isps)
        ]
        seen: set[tuple[int, int, int]] = set()
        rows: list[tuple[int, int, int]] = []
        for isp in isp_of.tolist():
            prefixes = isp_prefixes[isp]
            while True:
                a, b = prefixes[int(rng.integers(len(prefixes)))]
                c = int(rng.integers(0, 256))
                if (a, b, c) not in seen:
                    break
            seen.add((a, b, c))
            rows.append((a, b, c))
        self.n_res = n_res
        self.carrier_base = len(rows)
        for _ in range(_N_CARRIERS * _CARRIER_SUBNETS):
            rows.append((int(rng.choice((100, 172, 174, 107, 90, 92))), *rng.integers(0, 256, 2)))
        self.hosting_base = len(rows)
        for _ in range(_N_HOSTING):
            rows.append((int(rng.choice(_HOST_OCTETS)), *rng.integers(0, 256, 2)))
        self.subnets = np.array(rows, dtype=np.int64)
        self.vpn_base = self.hosting_base  # the first _N_VPN hosting subnets are VPN exits
        self._key = int(rng.integers(1, 2**62))
        self._hh = _Households()
        self._n_hh = 0
        self._subnet_flat: list[int] = []
        self._force_v4: list[int] = []
        self.hh_subnet = np.empty(0, dtype=np.int64)

    def random_res_subnets(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Indices of n residential /24s, uniformly (many households share each)."""
        return rng.integers(0, self.n_res, n)

    def random_hosting_subnets(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Indices of n hosting /24s outside the VPN exits (clouds, proxies, offices)."""
        return self.hosting_base + rng.integers(_N_VPN, _N_HOSTING, n)

    def add_households(
        self,
        rng: np.random.Generator,
        n: int,
        *,
        subnets: np.ndarray | None = None,
        v6_share: float = 0.12,
        lease_h: tuple[int, int] = (24, 24 * 21),
        rotate: bool = False,
    ) -> np.ndarray:
        """New households on the given /24s (random residential ones by default)."""
        if subnets is None:
            subnets = self.random_res_subnets(rng, n)
        subnets = np.broadcast_to(np.asarray(subnets, dtype=np.int64), (n,)).copy()
        self._hh.subnet.append(subnets)
        self._subnet_flat.extend(subnets.tolist())
        self._hh.v6.append((rng.random(n) < v6_share) & (subnets < self.n_res))
        self._hh.lease_h.append(rng.integers(lease_h[0], lease_h[1] + 1, n))
        self._hh.phase_h.append(rng.integers(0, 24 * 30, n))
        self._hh.rotate.append(np.full(n, rotate))
        idx = np.arange(self._n_hh, self._n_hh + n)
        self._n_hh += n
        return idx

    def freeze(self) -> None:
        """Concatenate household tables for vectorised lookups."""
        self.hh_subnet = np.concatenate(self._hh.subnet) if self._hh.subnet else np.empty(0, int)
        self.hh_v6 = np.concatenate(self._hh.v6)
        self.hh_v6[np.asarray(self._force_v4, dtype=np.int64)] = False
        self.hh_lease = np.concatenate(self._hh.lease_h)
        self.hh_phase = np.concatenate(self._hh.phase_h)
        self.hh_rotate = np.concatenate(self._hh.rotate)

    def set_v4(self, households: np.ndarray) -> None:
        """Force IPv4 on households (used where a story needs a shared /24)."""
        self._force_v4.extend(np.asarray(households).tolist())

    def subnet_of(self, household: int) -> int:
        """The subnet index of one household (works before :meth:`freeze`)."""
        return self._subnet_flat[household]

    def render(
        self,
        rng: np.random.Generator,
        t: np.ndarray,
        households: np.ndarray,
        mode: np.ndarray,
        carrier: np.ndarray,
    ) -> list[str]:
        """Address strings for events (mode 0 home, 1 mobile, 2 VPN) at times ``t`` (ms)."""
        n = len(t)
        hh = households
        epoch = (t // HOUR_MS + self.hh_phase[hh]) // self.hh_lease[hh]
        mixed = mix64((hh.astype(np.uint64) << np.uint64(24)) ^ epoch.astype(np.uint64), self._key)
        host_static = (mixed % np.uint64(253)).astype(np.int64) + 1
        rand_host = rng.integers(1, 255, n)
        # a carrier's NAT puts its users behind its public hosts (all 254 by default)
        folded = 1 + (rand_host - 1) % self.mobile_hosts
        rand_host = np.where((mode == 1) & (rand_host > self.mobile_hosts), folded, rand_host)
        home = mode == 0
        host = np.where(home & ~self.hh_rotate[hh], host_static, rand_host)
        subnet = np.where(
            home,
            self.hh_subnet[hh],
            np.where(
                mode == 1,
                self.carrier_base + carrier * _CARRIER_SUBNETS + rng.integers(0, 8, n),
                self.vpn_base + rng.integers(0, _N_VPN, n),
            ),
        )
        octets = self.subnets[subnet]
        v6 = home & self.hh_v6[hh]
        out = [
            f"{a}.{b}.{c}.{d}"
            for a, b, c, d in zip(
                octets[:, 0].tolist(),
                octets[:, 1].tolist(),
                octets[:, 2].tolist(),
                host.tolist(),
                strict=True,
            )
        ]
        if v6.any():
            where = np.flatnonzero(v6)
            pfx = mix64(hh[where].astype(np.uint64), self._key ^ 0x6666).tolist()
            iface = mixed[where].tolist()
            for i, p, s in zip(where.tolist(), pfx, iface, strict=True):
                out[i] = (
                    f"2a0{p & 7:x}:{(p >> 8) & 0xFFFF:x}:{(p >> 24) & 0xFFFF:x}:"
                    f"{(p >> 40) & 0xFF:x}:{(s >> 48) & 0xFFFF:x}:{(s >> 32) & 0xFFFF:x}:"
                    f"{(s >> 16) & 0xFFFF:x}:{s & 0xFFFF:x}"
                )
        return out

    def subnet_ips(self, subnet: int, hosts: list[int]) -> list[str]:
        """Fixed addresses on one /24 (office NAT exits)."""
        a, b, c = self.subnets[subnet].tolist()
        return [f"{a}.{b}.{c}.{h}" for h in hosts]


_COLUMNS: dict[str, tuple[type, object]] = {
    "signup_ms": (np.int64, 0),
    "until_ms": (np.int64, INF_MS),  # suspended from this time on
    "tz": (np.int8, 0),
    "profile": (np.int8, PERSONAL),
    "rate": (np.float64, 0.0),  # everyday messages per day (0 = scripted only)
    "login_rate": (np.float64, 0.0),
    "community": (np.int64, -1),
    "household": (np.int64, -1),
    "signup_household": (np.int64, -1),  # -1: same as household
    "p_mobile": (np.float64, 0.0),
    "p_vpn": (np.float64, 0.0),
    "carrier": (np.int64, 0),
    "device": (np.int64, -1),
    "mobile_device": (np.int64, -1),
    "signup_device": (np.int64, -1),  # -1: whatever device is current
    "company": (np.int64, -1),
    "first": (np.int64, 0),
    "last": (np.int64, 0),
    "phone_share": (np.float64, 0.35),  # chance the signup carries a phone number
}


class Population:
    """All accounts of a world as columns (numpy arrays), grown by :meth:`add`.

    After :meth:`freeze`, ``actor_ids``, ``emails``, ``display_names``, ``phones`` and
    ``device_ids`` are lists aligned with the person index, and community membership
    is available as CSR arrays for vectorised recipient draws.
    """

    def __init__(self, *, start_ms: int, days: int, net: Network, capacity: int) -> None:
        self.start_ms = start_ms
        self.end_ms = start_ms + days * DAY_MS
        self.days = days
        self.net = net
        self.n = 0
        self._cap = max(16, capacity)
        self.cols: dict[str, np.ndarray] = {
            name: np.full(self._cap, default, dtype=dtype)
            for name, (dtype, default) in _COLUMNS.items()
        }
        self.n_devices = 0
        self.email_override: dict[int, str] = {}
        self.display_override: dict[int, str] = {}
        self.phone_override: dict[int, str] = {}
        self.communities: list[np.ndarray] = []
        self.company_ips: list[list[str]] = []
        self.suspensions: list[tuple[int, int, str]] = []  # (ms, person, reason)

    def __getattr__(self, name: str) -> np.ndarray:
        cols = self.__dict__.get("cols")
        if cols is not None and name in cols:
            return cols[name][: self.n]
        raise AttributeError(name)

    def add(self, n: int) -> np.ndarray:
        """Append n people with default columns; returns their indices."""
        if self.n + n > self._cap:
            self._cap = max(self._cap * 2, self.n + n)
            for name, (dtype, default) in _COLUMNS.items():
                grown = np.full(self._cap, default, dtype=dtype)
                grown[: self.n] = self.cols[name][: self.n]
                self.cols[name] = grown
        idx = np.arange(self.n, self.n + n)
        self.n += n
        return idx

    def set(self, name: str, idx: np.ndarray | int, values: object) -> None:
        """Assign a column for some people."""
        self.cols[name][idx] = values

    def new_devices(self, n: int) -> np.ndarray:
        """Indices of n new devices."""
        idx = np.arange(self.n_devices, self.n_devices + n)
        self.n_devices += n
        return idx

    def suspend(self, person: int, ms: int, reason: str) -> None:
        """Plan a suspension: a label event at ``ms``, and the account stops acting."""
        if ms < self.cols["until_ms"][person]:
            self.cols["until_ms"][person] = ms
            self.suspensions.append((int(ms), int(person), reason))

    # --- legit-looking defaults ------------------------------------------------------

    def sample_people(
        self, rng: np.random.Generator, idx: np.ndarray, *, aged: bool = True
    ) -> None:
        """Fill everyday defaults: names, rhythm, rates, own household and devices."""
        n = len(idx)
        first, last = Names.sample(rng, n)
        self.set("first", idx, first)
        self.set("last", idx, last)
        self.set("tz", idx, rng.choice(_TZ, size=n, p=_TZ_W / _TZ_W.sum()))
        self.set("profile", idx, np.where(rng.random(n) < 0.1, NIGHT, PERSONAL))
        rate = np.exp(rng.normal(np.log(0.62), 0.85, n))
        rate = np.where(rng.random(n) < 0.05, 0.02, rate)  # near-dormant accounts
        self.set("rate", idx, np.clip(rate, 0.02, 12.0))
        self.set("login_rate", idx, np.clip(np.exp(rng.normal(np.log(0.45), 0.6, n)), 0.05, 4))
        self.set("household", idx, self.net.add_households(rng, n))
        self.set("device", idx, self.new_devices(n))
        has_phone = rng.random(n) < 0.8
        mobile_dev = self.new_devices(n)
        self.set("mobile_device", idx, np.where(has_phone, mobile_dev, self.cols["device"][idx]))
        self.set("p_mobile", idx, np.where(has_phone, rng.beta(2, 3, n) * 0.7, 0.0))
        self.set("p_vpn", idx, np.where(rng.random(n) < 0.05, rng.uniform(0.1, 0.6, n), 0.0))
        self.set("carrier", idx, rng.integers(0, _N_CARRIERS, n))
        if aged:
            self.set_aged_signup(rng, idx)

    def set_aged_signup(
        self, rng: np.random.Generator, idx: np.ndarray, *, median_days: float = 700
    ) -> None:
        """Signups months to years before the window, some from old devices and homes."""
        n = len(idx)
        age_days = np.clip(np.exp(rng.normal(np.log(median_days), 0.9, n)), 20, 4500)
        ms = self.start_ms - (age_days * DAY_MS).astype(np.int64)
        ms -= rng.integers(0, DAY_MS, n)
        self.set("signup_ms", idx, ms)
        old = age_days > 365
        old_device = old & (rng.random(n) < 0.6)
        if old_device.any():
            self.set("signup_device", idx[old_device], self.new_devices(int(old_device.sum())))
        moved = old & (rng.random(n) < 0.4)
        if moved.any():
            self.set(
                "signup_household",
                idx[moved],
                self.net.add_households(rng, int(moved.sum()), v6_share=0.0),
            )

    def form_communities(
        self, rng: np.random.Generator, people: np.ndarray, *, lo: int = 5, hi: int = 50
    ) -> list[np.ndarray]:
        """Partition people into friend communities (sizes lognormal in [lo, hi]).

        Most members take the community's time zone: friends tend to live near each other.
        """
        order = rng.permutation(people)
        made: list[np.ndarray] = []
        i = 0
        while i < len(order):
            size = int(np.clip(np.exp(rng.normal(np.log(12), 0.6)), lo, hi))
            if len(order) - i - size < lo:
                size = len(order) - i
            members = order[i : i + size]
            c = len(self.communities)
            self.communities.append(members)
            self.cols["community"][members] = c
            local = members[rng.random(len(members)) < 0.9]
            self.cols["tz"][local] = self.cols["tz"][members[0]]
            made.append(members)
            i += size
        return made

    # --- finalisation ----------------------------------------------------------------

    def freeze(self, rng: np.random.Generator) -> None:
        """Fix ids, identities and lookup tables once every person is added."""
        for name in list(self.cols):
            self.cols[name] = self.cols[name][: self.n].copy()
        self._cap = self.n
        self.net.freeze()
        key = int(rng.integers(1, 2**32))
        perm = rng.permutation(self.n)
        self.actor_ids = ["u" + h for h in (f"{v:08x}" for v in mix32(perm, key).tolist())]
        dkey = int(rng.integers(1, 2**62))
        hi = mix64(np.arange(self.n_devices, dtype=np.uint64), dkey)
        lo = mix64(np.arange(self.n_devices, dtype=np.uint64), dkey ^ 0xA5A5)
        uuid_share = (hi >> np.uint64(60)) < np.uint64(7)
        hexes = hex64(hi)
        uuids = uuid_like(hi, lo)
        self.device_ids = [
            u if s else h for h, u, s in zip(hexes, uuids, uuid_share.tolist(), strict=True)
        ]
        dice = Dice(rng)
        first, last = self.first.tolist(), self.last.tolist()
        taken: set[str] = set(self.email_override.values())
        emails: list[str] = []
        for i in range(self.n):
            if i in self.email_override:
                emails.append(self.email_override[i])
                continue
            for _ in range(6):
                e = email_for(first[i], last[i], dice)
                if e.lower() not in taken:
                    break
            else:
                local, _, dom = e.partition("@")
                e = f"{local}{dice.between(100, 99999)}@{dom}"
            taken.add(e.lower())
            emails.append(e)
        self.emails = emails
        self.display_names = [
            self.display_override.get(i) or Names.display(first[i], last[i], dice)
            for i in range(self.n)
        ]
        share = self.phone_share.tolist()
        self.phones = [
            self.phone_override.get(i) or (phone_number(dice) if dice.chance(share[i]) else None)
            for i in range(self.n)
        ]
        self._build_communities(rng)
        self.suspensions.sort()

    def _build_communities(self, rng: np.random.Generator) -> None:
        comm = self.community
        order = np.argsort(comm, kind="stable")
        order = order[comm[order] >= 0]
        n_comm = len(self.communities)
        counts = np.bincount(comm[order], minlength=n_comm) if n_comm else np.zeros(0, int)
        self.comm_members = order
        self.comm_size = counts
        self.comm_off = np.concatenate([[0], np.cumsum(counts)[:-1]]) if n_comm else counts
        engine = np.flatnonzero(self.rate > 0)
        ties = engine[rng.integers(0, len(engine), (self.n, 3))] if len(engine) else None
        self.ties = ties if ties is not None else np.full((self.n, 3), -1)

    # --- per-event lookups -----------------------------------------------------------

    def addresses(
        self, rng: np.random.Generator, persons: np.ndarray, t: np.ndarray
    ) -> tuple[list[str], list[str]]:
        """(ip, device_id) per event of ``persons`` at times ``t`` (ms)."""
        n = len(persons)
        if n == 0:
            return [], []
        u = rng.random((2, n))
        mobile = u[0] < self.p_mobile[persons]
        vpn = ~mobile & (u[1] < self.p_vpn[persons])
        mode = np.where(mobile, 1, np.where(vpn, 2, 0))
        ips = self.net.render(rng, t, self.household[persons], mode, self.carrier[persons])
        comp = self.company[persons]
        at_work = (comp >= 0) & ~mobile
        if at_work.any():
            local = t + self.tz[persons].astype(np.int64) * HOUR_MS
            hour = (local // HOUR_MS) % 24
            dow = (local // DAY_MS + 3) % 7  # 1970-01-01 was a Thursday
            at_work &= (hour >= 8) & (hour < 18) & (dow < 5)
            for i in np.flatnonzero(at_work).tolist():
                exits = self.company_ips[int(comp[i])]
                ips[i] = exits[int(t[i] // HOUR_MS) % len(exits)]
        dev = np.where(mobile, self.mobile_device[persons], self.device[persons])
        ids = self.device_ids
        return ips, [ids[d] for d in dev.tolist()]

    def signup_addresses(
        self, rng: np.random.Generator, persons: np.ndarray
    ) -> tuple[list[str], list[str]]:
        """(ip, device_id) of each person's signup, honouring old homes and devices."""
        t = self.signup_ms[persons]
        ips, devs = self.addresses(rng, persons, t)
        old_hh = self.signup_household[persons]
        moved = np.flatnonzero(old_hh >= 0)
        if len(moved):
            old_ips = self.net.render(
                rng, t[moved], old_hh[moved], np.zeros(len(moved), int), np.zeros(len(moved), int)
            )
            for i, ip in zip(moved.tolist(), old_ips, strict=True):
                ips[i] = ip
        old_dev = self.signup_device[persons]
        for i in np.flatnonzero(old_dev >= 0).tolist():
            devs[i] = self.device_ids[int(old_dev[i])]
        return ips, devs

    def first_name(self, person: int) -> str:
        """The first name a sender would greet this person with."""
        return FIRST_NAMES[self.cols["first"][person]]
