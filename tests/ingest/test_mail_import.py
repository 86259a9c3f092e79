"""Real mail as input: raw messages -> contract events or rejects, none lost."""

from __future__ import annotations

import gzip
import io
import random
import tarfile
from pathlib import Path

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ringscope.cli import main
from ringscope.ingest import ingest, read_rejects
from ringscope.ingest.mail import (
    MailRejected,
    RawMessage,
    default_rejects_path,
    import_mail,
    iter_messages,
    parse_message,
)
from ringscope.ingest.mail.relays import first_public_ip
from ringscope.ingest.mail.sources import split_mbox
from ringscope.privacy import Keyring

KEYRING = Keyring(b"ringscope-mail-test-secret-0123")

PLAIN = b"""\
Received: from mx.example.net (mx.example.net [93.184.216.34])
\tby inbound.example.org with ESMTP id 1; Tue, 03 Sep 2002 10:05:00 +0000
Received: from sender-pc ([192.168.1.20]) by mx.example.net; Tue, 03 Sep 2002 10:00:01 +0000
Received: from laptop (localhost [127.0.0.1]) by sender-pc; Tue, 03 Sep 2002 10:00:00 +0000
From: "Ann Smith" <Ann.Smith@Example.com>
To: bob@example.org, "Carl" <carl@example.org>
Cc: dee@example.org
Subject: lunch?
Date: Tue, 03 Sep 2002 12:00:00 +0200
Message-ID: <abc123@example.com>

See www.menu.example/today and http://maps.example.com/x?y=1.
"""


def _message(data: bytes, *, source: str = "m.eml", folder: str | None = None) -> dict:
    return parse_message(RawMessage(source, 1, data, folder), label_from_folder=True).fields


def _rejected(data: bytes) -> str:
    with pytest.raises(MailRejected) as info:
        parse_message(RawMessage("m.eml", 1, data))
    return info.value.reason


def _read_events(path: Path) -> list[dict]:
    with gzip.open(path, "rb") as handle:
        return [orjson.loads(line) for line in handle]


def test_plain_message_becomes_a_contract_event():
    event = _message(PLAIN, folder="inbox")
    assert event == {
        "ts": "2002-09-03T10:00:00Z",
        "actor_id": "Ann.Smith@Example.com",
        "event_type": "message",
        "message_id": "abc123@example.com",
        "email": "Ann.Smith@Example.com",
        "display_name": "Ann Smith",
        "recipients": ["bob@example.org", "carl@example.org", "dee@example.org"],
        "subject": "lunch?",
        "text": "See www.menu.example/today and http://maps.example.com/x?y=1.\n",
        "urls": ["www.menu.example/today", "http://maps.example.com/x?y=1"],
        "ip": "93.184.216.34",
        "traits": ["received:3"],
        "folder": "inbox",
    }


BULK = b"""\
Received: from relay.example.net ([203.0.113.9]) by mx.example.org; Tue, 03 Sep 2002 10:00:00 +0000
From: offers4821@deals.example
Reply-To: claims@elsewhere.example
Subject: you won
Date: Tue, 03 Sep 2002 18:00:00 +0000
Content-Type: multipart/mixed; boundary="b"

--b
Content-Type: text/html

<p>Click <a href="http://win.example/x">here</a></p>
--b
Content-Type: application/zip; name="prize.zip"
Content-Disposition: attachment; filename="prize.zip"

UEsDBA==
--b--
"""


def test_traits_name_structure_and_header_facts_without_values():
    traits = _message(BULK)["traits"]
    assert traits == [
        "attach:archive",
        "date:future",
        "from:digits",
        "html_only",
        "msgid:none",
        "received:1",
        "reply_to:mismatch",
        "to:none",
    ]
    reply = PLAIN.replace(b"Subject: lunch?", b"Subject: Re: lunch?\nIn-Reply-To: <x@example.org>")
    assert "reply" in _message(reply)["traits"]


def test_relay_ip_is_the_first_public_address_from_the_bottom():
    # PLAIN, bottom up: loopback, the private LAN address, then the sender's ISP relay
    assert _message(PLAIN)["ip"] == "93.184.216.34"
    received = [
        "from relay.isp.example (relay.isp.example [8.8.8.8]) by mx.example.org",
        "from pc (HELO 8.8.4.4) (81.2.69.142) by relay.isp.example",
        "from laptop ([10.0.0.5]) by pc",
    ]
    # bottom-most public hop, and there the address the relay saw (qmail's parentheses)
    # wins over the one the sender claimed (HELO)
    assert first_public_ip(received) == "81.2.69.142"
    assert first_public_ip(["from a ([10.1.1.1]) by b", "from c (127.0.0.1) by d"]) is None
    assert first_public_ip(["from x.example ([IPv6:2a00:1450:4001:81b::200e]) by y"]) == (
        "2a00:1450:4001:81b::200e"
    )
    assert first_public_ip(["from x ([::ffff:81.2.69.142]) by y"]) == "81.2.69.142"
    assert first_public_ip(["by mx.example.org with SMTP id 1; Tue, 3 Sep 2002"]) is None


def test_private_only_relays_give_no_ip():
    message = PLAIN.replace(b"[93.184.216.34]", b"[172.16.0.9]")
    assert "ip" not in _message(message)


PRIVATE = ["10.2.3.4", "192.168.0.1", "127.0.0.1", "172.20.1.1", "100.64.0.9", "fe80::1"]
RESERVED = ["198.51.100.200", "0.0.0.0", "224.0.0.5", "240.1.2.3"]
PUBLIC = ["81.2.69.142", "93.184.216.34", "2a00:1450:4001:81b::200e", "8.8.8.8"]


@given(st.lists(st.sampled_from(PRIVATE + RESERVED + PUBLIC), max_size=6))
def test_relay_ip_is_the_bottom_most_public_hop(hops):
    headers = [
        f"from h{i} ([{ip}]) by r{i}; Tue, 3 Sep 2002 10:00:00 +0000" for i, ip in enumerate(hops)
    ]
    public = [ip for ip in reversed(hops) if ip in PUBLIC]
    assert first_public_ip(headers) == (public[0] if public else None)


MULTIPART = b"""\
From: =?iso-8859-1?q?J=F6rg_M=FCller?= <joerg@example.de>
To: =?utf-8?b?w4lsaXNl?= <elise@example.fr>
Subject: =?utf-8?b?R3LDvMOfZSBhdXMgS8O2bG4=?=
Date: Wed, 04 Sep 2002 08:00:00 -0400
Message-ID: <mp-1@example.de>
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="XX"

--XX
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

Gr=C3=BC=C3=9Fe! Details: https://plain.example.org/a
--XX
Content-Type: text/html; charset=utf-8

<html><head><style>p {color: red}</style></head><body><p>Gr&uuml;&szlig;e!</p>
<a href="https://hidden.example.net/click?id=7">click here</a>
<img src="http://img.example.com/p.gif"><a href="mailto:x@example.de">mail</a>
</body></html>
--XX
Content-Type: application/octet-stream; name="a.bin"
Content-Disposition: attachment; filename="a.bin"
Content-Transfer-Encoding: base64

aHR0cDovL2F0dGFjaG1lbnQuZXhhbXBsZS8=
--XX--
"""


def test_multipart_html_and_encoded_headers():
    event = _message(MULTIPART)
    assert event["display_name"] == "Jörg Müller"
    assert event["subject"] == "Grüße aus Köln"
    assert event["recipients"] == ["elise@example.fr"]
    assert event["ts"] == "2002-09-04T12:00:00Z"
    assert event["text"].strip() == "Grüße! Details: https://plain.example.org/a"
    # links from the text and from the HTML (href and src), never from attachments
    assert event["urls"] == [
        "https://plain.example.org/a",
        "https://hidden.example.net/click?id=7",
        "http://img.example.com/p.gif",
    ]


def test_html_only_message_is_converted_to_text():
    html = b"""\
From: promo@example.biz
Date: Thu, 05 Sep 2002 01:02:03 +0000
Content-Type: text/html; charset=us-ascii

<html><script>var u = "http://script.example/";</script><body><h1>BIG&nbsp;SALE</h1>
<a href="http://shop.example.biz/?r=1">Buy</a> now</body></html>
"""
    event = _message(html)
    assert event["text"] == "BIG\xa0SALE Buy now"
    assert event["urls"] == ["http://shop.example.biz/?r=1"]
    assert event["message_id"].startswith("sha256:")  # no Message-ID: a digest of the bytes
    assert event["message_id"] == _message(html)["message_id"]


def test_raw_8bit_headers_become_valid_unicode():
    text = "From: Zoë <zoe@example.org>\nSubject: café\nDate: Fri, 06 Sep 2002 00:00 +0000\n\nhi\n"
    assert _message(text.encode("utf-8"))["subject"] == "café"  # raw UTF-8 bytes
    assert _message(text.encode("utf-8"))["display_name"] == "Zoë"
    latin = _message(text.encode("latin-1"))  # 8-bit bytes that are not UTF-8
    assert latin["subject"] == "caf\ufffd"
    orjson.dumps(latin)  # would raise on a lone surrogate
    unlabelled = b"From: a@example.org\nDate: Fri, 06 Sep 2002 00:00 +0000\n\ncaf\xc3\xa9\n"
    assert _message(unlabelled)["text"] == "café\n"  # no charset: read as UTF-8


def test_broken_date_falls_back_to_the_newest_received_stamp():
    broken = PLAIN.replace(b"Tue, 03 Sep 2002 12:00:00 +0200", b"sometime last week")
    assert _message(broken)["ts"] == "2002-09-03T10:05:00Z"
    future = PLAIN.replace(b"2002 12:00:00 +0200", b"2207 12:00:00 +0200")
    assert _message(future)["ts"] == "2002-09-03T10:05:00Z"  # outside 1970-2099
    envelope = b"From ann@example.com  Sat Sep 21 08:18:08 2002\nFrom: ann@example.com\n\nx\n"
    assert _message(envelope)["ts"] == "2002-09-21T08:18:08Z"


def test_no_usable_time_is_a_reject():
    without_trace = b"From: a@example.com\nDate: %s\n\nbody\n"
    assert _rejected(without_trace % b"not a date") == "bad_timestamp"
    assert _rejected(b"From: a@example.com\nSubject: x\n\nbody\n") == "missing_field: Date"


def test_sender_is_required_and_sender_header_is_the_fallback():
    assert _rejected(PLAIN.replace(b"From: ", b"X-From: ")) == "missing_field: From"
    assert _rejected(PLAIN.replace(b'"Ann Smith" <Ann.Smith@Example.com>', b"<>")) == (
        "missing_field: From"
    )
    via_sender = PLAIN.replace(b"From: ", b"Sender: ")
    assert _message(via_sender)["actor_id"] == "Ann.Smith@Example.com"


def test_empty_and_binary_data_are_rejects():
    assert _rejected(b"") == "empty_message"
    assert _rejected(b" \n\r\n") == "empty_message"
    assert _rejected(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00") == "not_a_message"
    # cut off inside the headers, before any sender
    assert _rejected(PLAIN[:120]) == "missing_field: From"


MBOX = b"""\
From ann@example.com  Tue Sep  3 10:00:00 2002
From: ann@example.com
Date: Tue, 03 Sep 2002 10:00:00 +0000
Message-ID: <one@example.com>

first message
>From the archive: not an envelope

From bob@example.org  Wed Sep  4 11:00:00 2002
From: bob@example.org
Date: Wed, 04 Sep 2002 11:00:00 +0000
Message-ID: <two@example.org>

second message
From here on, a body line that is not an envelope either
"""


def test_mbox_with_two_messages(tmp_path):
    path = tmp_path / "saved.mbox"
    path.write_bytes(MBOX)
    messages = list(iter_messages(path))
    assert [(m.source, m.position) for m in messages] == [(str(path), 1), (str(path), 9)]
    assert b"\nFrom the archive" in messages[0].data  # ">From " unescaped
    events = [parse_message(m).fields for m in messages]
    assert [e["message_id"] for e in events] == ["one@example.com", "two@example.org"]
    assert "From here on" in events[1]["text"]
    # a single file given directly that starts with an envelope line is an mbox too
    plain_name = tmp_path / "saved.txt"
    plain_name.write_bytes(MBOX)
    assert len(list(iter_messages(plain_name))) == 2
    gz = tmp_path / "saved.mbox.gz"
    gz.write_bytes(gzip.compress(MBOX))
    assert [m.position for m in iter_messages(gz)] == [1, 9]


_BODY_LINE = st.sampled_from(
    ["hello", "", "From here on", "From a@b.c Tue Sep 3 10:00:00 2002", ">From x", "  From "]
)


@given(st.lists(st.lists(_BODY_LINE, max_size=5), min_size=1, max_size=4))
def test_mbox_round_trip_property(bodies):
    """An mboxrd file written from any bodies splits back into exactly those messages."""
    written = []
    for i, lines in enumerate(bodies):
        escaped = [(">" + line if line.lstrip(">").startswith("From ") else line) for line in lines]
        block = [f"From sender{i}@example.com  Tue Sep  3 10:00:0{i} 2002", f"Subject: {i}", ""]
        written.append("\n".join([*block, *escaped, ""]) + "\n")
    messages = list(split_mbox(io.BytesIO("".join(written).encode()), "box", None))
    assert len(messages) == len(bodies)
    for message, lines in zip(messages, bodies, strict=True):
        body = message.data.decode().split("\n\n", 1)[1]
        assert body == "\n".join([*lines, ""]) + "\n"


def _tree(root: Path) -> dict[str, bytes]:
    files = {
        "spam/a.txt": PLAIN,
        "spam/b.txt": MULTIPART,
        "ham/deep/c.txt": MBOX,  # envelope lines, but a tree holds one message per file
        "ham/empty.txt": b"",
        "ham/junk.bin": b"\x00\x01\x02binary",
        "top.eml": PLAIN.replace(b"From: ", b"X-No-From: "),
    }
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return files


def test_import_accounts_for_every_message(tmp_path):
    root = tmp_path / "mail"
    files = _tree(root)
    out = tmp_path / "out" / "events.jsonl.gz"
    out.parent.mkdir()
    stats = import_mail(root, out, keyring=KEYRING, label_from_folder=True)
    assert stats.messages == len(files) == stats.events + stats.rejected_total
    assert stats.events == 3
    assert dict(stats.rejected) == {
        "empty_message": 1,
        "not_a_message": 1,
        "missing_field: From": 1,
    }
    events = _read_events(out)
    assert sorted(e["folder"] for e in events) == ["ham", "spam", "spam"]
    from_tree_mbox = next(e for e in events if e["folder"] == "ham")
    assert from_tree_mbox["message_id"] == "one@example.com"
    assert "second message" in from_tree_mbox["text"]
    rejects = read_rejects(default_rejects_path(out))
    assert sorted(rejects["source"].to_list()) == sorted(
        str(root / n) for n in ("ham/empty.txt", "ham/junk.bin", "top.eml")
    )
    for row in rejects.iter_rows(named=True):
        original = files[Path(row["source"]).relative_to(root).as_posix()]
        assert KEYRING.unseal(row["raw"]) == original  # nothing lost, sealed
        assert "Ann" not in row["preview"] and "example" not in row["preview"]
    top = rejects.filter(rejects["reason"] == "missing_field: From").row(0, named=True)
    assert top["preview"].endswith(
        "headers: Received, Received, Received, X-No-From, To, Cc, Subject, Date, Message-ID"
    )
    assert not list(out.parent.glob(".*partial*"))  # written under a temporary name


def test_a_garbled_link_is_dropped_not_the_message(tmp_path):
    garbled = b"""\
From: promo@example.biz
Date: Thu, 05 Sep 2002 01:02:03 +0000
Content-Type: text/html; charset=us-ascii

<a href="http://bad host.example/x">one</a> <a href="http://\x01ctl.example/">two</a>
<a href="http://shop.example.biz/deal">Buy</a>
"""
    event = _message(garbled)
    assert event["urls"] == ["http://shop.example.biz/deal"]
    out = tmp_path / "events.jsonl"
    out.write_bytes(orjson.dumps(event | {"event_type": "message"}) + b"\n")
    result = ingest([out], keyring=KEYRING)
    assert result.rejects.height == 0 and result.events.height == 1


def test_imported_events_pass_ingest_and_keep_addresses_out_of_account_ids(tmp_path):
    root = tmp_path / "mail"
    _tree(root)
    reply = (
        b"From: Bob <BOB@example.org>\nTo: ann.smith+lunch@example.com\n"
        b"Date: Tue, 03 Sep 2002 12:30:00 +0200\nSubject: Re: lunch?\n\nyes!\n"
    )
    (root / "ham" / "reply.eml").write_bytes(reply)
    out = tmp_path / "events.jsonl.gz"
    import_mail(root, out, keyring=KEYRING)
    written = _read_events(out)
    ann = KEYRING.hash("account", "ann.smith@example.com")
    bob = KEYRING.hash("account", "bob@example.org")
    by_actor = {e["actor_id"]: e for e in written}
    assert ann in by_actor and bob in by_actor
    assert by_actor[ann]["email"] == "Ann.Smith@Example.com"  # the address stays in `email`
    assert bob in by_actor[ann]["recipients"] and ann in by_actor[bob]["recipients"]
    assert not any("@" in e["actor_id"] or "@" in "".join(e["recipients"]) for e in written)
    result = ingest([out], keyring=KEYRING)
    assert result.rejects.height == 0
    assert result.events.height == 4
    assert set(result.events["event_type"].to_list()) == {"message"}
    # Ann wrote to Bob and Bob answered: one account namespace, so the reply is seen
    keys = dict(zip(result.events["actor_id"], result.events["actor_key"], strict=True))
    ann_rows = result.events.filter(result.events["actor_id"] == ann)
    assert keys[bob] in ann_rows["recipients"].explode().to_list()


def test_parallel_parse_writes_exactly_what_a_serial_parse_writes(tmp_path):
    root = tmp_path / "mail"
    files = _tree(root)
    for i in range(150):  # several chunks of work
        (root / "bulk" / f"{i:03}.eml").parent.mkdir(exist_ok=True)
        data = list(files.values())[i % len(files)]
        (root / "bulk" / f"{i:03}.eml").write_bytes(data.replace(b"lunch", b"lunch %d" % i))
    outputs = {}
    for workers in (1, 2):
        out = tmp_path / f"events-{workers}.jsonl.gz"
        stats = import_mail(root, out, keyring=KEYRING, workers=workers)
        rejects = read_rejects(default_rejects_path(out)).drop("raw")
        outputs[workers] = (gzip.decompress(out.read_bytes()), rejects, stats)
    assert outputs[1][0] == outputs[2][0]
    assert outputs[1][1].equals(outputs[2][1])
    assert outputs[1][2] == outputs[2][2]
    assert outputs[2][2].messages == 156


def test_tar_archive_members_are_addressed_and_labelled(tmp_path):
    root = tmp_path / "mail"
    files = _tree(root)
    files["Archive/2002.mbox"] = MBOX  # an mbox inside the archive: split by its name
    (root / "Archive").mkdir()
    (root / "Archive" / "2002.mbox").write_bytes(MBOX)
    archive = tmp_path / "mail.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for name in sorted(files):
            tar.add(root / name, arcname=f"./{name}")
    messages = list(iter_messages(archive))
    where = [(m.source.split("::")[1], m.position, m.folder) for m in messages]
    assert sorted(where) == sorted(
        [(n, 1, n.split("/")[0] if "/" in n else None) for n in files]
        + [("Archive/2002.mbox", 9, "Archive")]
    )
    assert all(m.source.startswith(f"{archive}::") for m in messages)


def test_cli_prints_counts_and_fails_cleanly(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("RINGSCOPE_SECRET_KEY", "mail-cli-secret-0123456789")
    root = tmp_path / "mail"
    _tree(root)
    out = tmp_path / "events.jsonl.gz"
    rejects = tmp_path / "rejected.jsonl.gz"
    assert main(["import-mail", str(root), "--out", str(out), "--rejects", str(rejects)]) == 0
    printed = " ".join(capsys.readouterr().out.split())
    assert "6 messages: 3 events" in printed and "3 rejected" in printed
    assert "rejected empty_message: 1" in printed
    assert read_rejects(rejects).height == 3
    assert main(["import-mail", str(tmp_path / "missing"), "--out", str(out)]) == 2
    assert "does not exist" in capsys.readouterr().err
    bad = tmp_path / "broken.tar.gz"
    bad.write_bytes(gzip.compress(random.Random(1).randbytes(5000))[:1000])  # cut short
    assert main(["import-mail", str(bad), "--out", str(out)]) == 2
    assert "unreadable file" in capsys.readouterr().err
    assert len(_read_events(out)) == 3  # the earlier, complete import is untouched


@pytest.mark.slow
def test_spamassassin_corpus_every_message_is_an_event_or_a_reject(shared_data, tmp_path):
    corpus = shared_data / "spamassassin_mail.tar.gz"
    out = tmp_path / "events.jsonl.gz"
    stats = import_mail(corpus, out, keyring=KEYRING, label_from_folder=True, workers=2)
    assert stats.messages == 3250 == stats.events + stats.rejected_total
    rejects = read_rejects(default_rejects_path(out))
    events = _read_events(out)
    assert len(events) == stats.events and rejects.height == stats.rejected_total
    assert stats.time_sources["date"] >= 0.95 * stats.events
    assert stats.with_ip >= 0.6 * stats.events
    spam = [e for e in events if e["folder"] == "spam-1"]
    ham = [e for e in events if e["folder"] != "spam-1"]
    assert len(spam) + sum(r.startswith(f"{corpus}::spam-1/") for r in rejects["source"]) == 500
    assert sum(bool(e["urls"]) for e in spam) >= 0.8 * len(spam)
    assert sum("ip" in e for e in spam) >= 0.9 * len(spam)
    assert all(e["ts"].startswith("20") for e in events)
    assert len({e["actor_id"].lower() for e in ham}) > 100
