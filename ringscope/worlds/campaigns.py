"""Campaign content: spin-text families for spam, promotion and harassment rings.

A :class:`Campaign` fixes what one ring pushes (template family, 1-3 domains, channel)
and renders near-duplicate messages from it: synonym choices, the recipient's first
name, random numbers and short codes, varied links.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ringscope.worlds import vocab
from ringscope.worlds.draws import Dice
from ringscope.worlds.text import Spin
from ringscope.worlds.urls import UrlGen, campaign_url

__all__ = ["CHANNELS", "Campaign", "new_campaign"]

CHANNELS = ("mail", "calendar", "contact")

_SPAM: dict[str, tuple[str, str]] = {
    "crypto": (
        "{Your|Exclusive|Limited|Private} {crypto|bitcoin|trading|investment} "
        "{opportunity|invite|bonus|access}{!|}",
        "{Hi|Hello|Hey|Dear} [name]{,|!|} {I wanted to share|Just sharing|Quick tip:|Don't miss}"
        " {this|an} {amazing|incredible|exclusive|limited} {crypto|bitcoin|trading|AI trading}"
        " {opportunity|platform|program}. {Members are earning|People made|Our users got}"
        " ${[n3]|[n4]} {in one week|this month|in 48 hours|since Monday}. {Sign up|Register|Join"
        " now|Start today} {here|at the link|below}: [url] {Use code|Promo code|Bonus code}"
        " [code] {for a {bonus|gift} of ${[n2]|[n3]}|to get started|before spots run out}.",
    ),
    "prize": (
        "{Congratulations|Congrats|Winner notification}{!|!!| [name]!}",
        "{Congratulations|Congrats|Good news} [name]! {You have been selected|Your number was"
        " drawn|You are our lucky winner} {to receive|for} {a brand new|a free|your}"
        " {iPhone 16|PS5|gift card worth ${[n3]|[n2]0}|[n3] EUR voucher}. {Claim|Collect|Redeem}"
        " {it|your prize} {here|now|today}: [url] {Ref|Code|Ticket}: [code]. {Offer ends|Expires}"
        " {tonight|in 24 hours|soon}.",
    ),
    "parcel": (
        "{Delivery|Parcel|Package} {notice|update|on hold}{| #[code]}",
        "{Dear customer|Hello [name]|Hi [name]}, {your parcel|your package|a delivery}"
        " {could not be delivered|is on hold|is waiting} {due to|because of} {an unpaid fee|"
        "incomplete address details|a customs charge} of {$|£|€}[n1].[n2]. {Please|Kindly}"
        " {update|confirm|verify} {your details|the payment} {at|via} [url] {within 48 hours|"
        "today|as soon as possible}. {Tracking|Ref} [code]",
    ),
    "diet": (
        "{Lose|Drop|Burn} [n2] {lbs|kg} {fast|in [n1] weeks}{!|}",
        "{Lose|Drop|Burn} [n2] {lbs|kg|pounds} in [n1] weeks {without dieting|with no exercise|"
        "naturally}! {Doctors|Experts|Celebrities} {hate|love|swear by} this {one trick|new "
        "formula|secret}. {Order|Try|Get yours} {now|today} {at|here:} [url] {and save|for}"
        " [n2]% {off|discount}.",
    ),
    "dating": (
        "{Hey|Hi|hello} {;)|:)|there}",
        "{Hey|Hi|Hello} [name] {;)|:)|} {I saw your profile|I came across your profile|I noticed"
        " you} {and|and I} {think we would get along|wanted to say hi|would love to chat}."
        " {I'm|My name is} [sender], {message me|find me|chat with me} {here|on my page|at}"
        " [url] {xx|x|}",
    ),
    "loan": (
        "{Pre-approved|Guaranteed|Instant} {loan|credit} {offer|decision}",
        "{Pre-approved|Guaranteed|Instant} {loan|credit} {of|up to} {$|£}[n4] {for|available"
        " to} [name]. {No credit check|Bad credit OK|Same day payout}. {Apply|Check eligibility|"
        "See your offer} {at|here:} [url] {Ref|Application} #[code]",
    ),
    "verify": (
        "{Security alert|Important notice|Account warning}{| [code]}",
        "{Security alert|Important notice|Account warning}: {we detected|there was} {unusual"
        " activity|a sign-in attempt|a login from a new device} {on your account|for [name]}."
        " {Verify|Confirm|Secure} your account {within 24 hours|now|immediately} {at|using}"
        " [url] {or it will be suspended|to avoid suspension|to keep access}. {Case|Ref} ID:"
        " [code]",
    ),
    "webinar": (
        "{Invitation|You're invited}: {Free|Exclusive|VIP} {webinar|masterclass|live session}",
        "{You're invited|Invitation}: {Free|Exclusive|VIP} {webinar|masterclass|giveaway}"
        " {on|about} {passive income|crypto profits|winning big|working from home}. {Reserve|"
        "Claim} your {seat|spot} at [url] - {only|just} [n2] {left|remaining}.",
    ),
}

# Promotion and astroturf content for aged, camouflaged rings: blends in more.
_PROMO: dict[str, tuple[str, str]] = {
    "product": (
        "{you have to see this|look at this|omg|this is so good|deal}",
        "{Check out|Have you seen|Loving} {this|these} {new|amazing|} {sneakers|headphones|"
        "skincare set|supplements|smart watch} {from|at} [brand] {-|!|,} {[n2]% off|half price|"
        "buy one get one} {today only|this week|until Sunday}! [url]",
    ),
    "referral": (
        "{Honestly|wow|game changer|finally}",
        "{Just|Finally} {tried|got} {the|my} [brand] {kit|starter pack|box} and {honestly|wow},"
        " {it works|I'm impressed|game changer}. {Use|Try} my code [code] {for|to get} [n2]%"
        " off [url]",
    ),
    "astroturf": (
        "{Read this|Important|Please share|Everyone needs to see this}",
        "{Everyone|People|You} {needs|should|have} to {see|read} this {about|on} {the council"
        " vote|the new tax|the election|the school closures}. {Share|Spread the word|Pass it"
        " on} {before it gets taken down|now|please}. [url]",
    ),
    "app": (
        "{Join me on|Try|Invite:} [brand]",
        "{Hey|Hi} [name], {I've been using|I joined|I'm on} [brand] {and it's great|for a"
        " month now|lately}. {Sign up with|Use} my link {and we both get|for} {$|£}[n2] [url]",
    ),
}

_HOSTILE: tuple[tuple[str, str], ...] = (
    (
        "{you|[name]}",
        "{You|Ur} {are|r} {pathetic|a joke|a fraud|a liar|so fake} [name]{.|!|!!} {Everyone|We"
        " all|The whole group} {knows|can see|has seen} {what you did|who you really are|your"
        " lies}{.|!} {Delete your account|Log off|Just leave|Go away} {already|now|for good}{.|!}",
    ),
    (
        "{stop|quit|enough}",
        "{Nobody|No one} {likes|wants|cares about} you [name]{.|!} {Stop posting|Quit|Shut up}"
        "{.|!} {We're|We are} {watching|not done|everywhere}{.|!|!!}",
    ),
    (
        "{exposed|the truth about [name]|read this}",
        "[name] {is a|=} {scammer|fraud|liar|clown}{.|!} {Everyone|Guys|All} {report|block|"
        "expose} {her|him|them} {now|today|!!} {Don't|Do not} {trust|believe} {anything|a word}"
        " {they say|from [name]}.",
    ),
)

_BRANDS = (
    "Lumora",
    "Vexa",
    "Nordly",
    "Glowbox",
    "Fitzo",
    "Kairo",
    "Brightpath",
    "Zenly",
    "Orbita",
    "Peakwell",
)


@dataclass
class Campaign:
    """What one ring pushes: a template family, its domains and channel."""

    kind: str  # "spam", "promo" or "hostile"
    family: str
    subject: Spin
    body: Spin
    domains: list[str]
    channel: str
    brand: str
    shortener_share: float
    urls_per_message: float  # probability a message carries a link
    persona: str = ""
    _slots: dict[str, object] = field(default_factory=dict, repr=False)

    def message(self, dice: Dice, *, name: str, sender: str = "") -> tuple[str, str, list[str]]:
        """One near-duplicate message: (subject, text, urls)."""
        urls: list[str] = []
        if self.domains and dice.chance(self.urls_per_message):
            domain = self.domains[dice.below(len(self.domains))]
            urls.append(campaign_url(dice, domain, shortener_share=self.shortener_share))
        slots = {
            "name": name,
            "sender": sender or self.persona,
            "brand": self.brand,
            "url": urls[0] if urls else "",
            "code": lambda: dice.code(dice.between(5, 8)),
            "n1": lambda: str(dice.between(2, 9)),
            "n2": lambda: str(dice.between(10, 99)),
            "n3": lambda: str(dice.between(100, 999)),
            "n4": lambda: f"{dice.between(1, 50)},{dice.between(0, 9)}00",
        }
        subject = self.subject.render(dice, slots) if self.channel != "contact" else ""
        if self.channel == "calendar":
            subject = f"Invitation: {subject} @ {dice.choice(_DAYS)} {dice.between(9, 20)}:00"
        elif self.channel == "contact":
            subject = f"Contact card: {sender or self.persona}"
        return subject, self.body.render(dice, slots), urls


_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def new_campaign(dice: Dice, urls: UrlGen, *, kind: str) -> Campaign:
    """A fresh campaign of ``kind`` (spam, promo, hostile) with its own domains."""
    if kind == "hostile":
        subject, body = _HOSTILE[dice.below(len(_HOSTILE))]
        family, domains, channel = "hostile", [], "mail"
    else:
        table = _SPAM if kind == "spam" else _PROMO
        family = dice.choice(tuple(table))
        subject, body = table[family]
        n_domains = 1 + int(dice.random() ** 1.5 * 3)
        domains = [urls.new_domain(dice, spammy=dice.chance(0.5)) for _ in range(n_domains)]
        if kind == "spam":
            r = dice.random()
            channel = "mail" if r < 0.6 else "calendar" if r < 0.85 else "contact"
            if family == "webinar":
                channel = "calendar"
        else:
            channel = "mail"
    return Campaign(
        kind=kind,
        family=family,
        subject=Spin(subject),
        body=Spin(body),
        domains=domains,
        channel=channel,
        brand=dice.choice(_BRANDS),
        shortener_share=0.3 if dice.chance(0.3) else 0.0,
        urls_per_message=0.0 if kind == "hostile" else (0.85 + 0.15 * dice.random()),
        persona=f"{dice.choice(vocab.FIRST_NAMES)} {dice.choice(vocab.LAST_NAMES)}",
    )
