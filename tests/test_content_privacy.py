"""Privacy of the content features: what messages say never leaves as words.

Raw mail with distinctive words and phrases goes through ``import-mail`` and ``run``
(with ``--debug-dir``, verbose logs, the content model trained on suspensions); no
output file, debug table, manifest or log line holds any of the words, their word pairs
or their character 5-grams. The run reads the text: the content model must have scored
the messages, or this test would prove nothing.
"""

from __future__ import annotations

import gzip
import json
import logging
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

import orjson
import polars as pl

from ringscope.cli import main

SECRET = "privacy-test-secret-0123456789"
WORDS = ("zorblaxian", "quuxwhistle", "vromptitude", "glimmerjunk")
PHRASES = ("zorblaxian quuxwhistle", "vromptitude glimmerjunk offer")
START = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)


def _forbidden() -> set[str]:
    found = set(WORDS) | set(PHRASES)
    for word in WORDS:
        found |= {word[i : i + 5] for i in range(len(word) - 4)}
    for phrase in PHRASES:
        tokens = phrase.split()
        found |= {" ".join(tokens[i : i + 2]) for i in range(len(tokens) - 1)}
    return found


def _message(sender: str, subject: str, body: str, when: datetime, html: bool) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "someone@example.org"
    msg["Subject"] = subject
    msg["Date"] = format_datetime(when)
    msg["Message-ID"] = f"<{abs(hash((sender, subject, when)))}@{sender.split('@')[1]}>"
    if html:
        msg.set_content(f"<html><body><p>{body}</p></body></html>", subtype="html")
    else:
        msg.set_content(body)
    return bytes(msg)


def _mailbox(root: Path) -> list[str]:
    """Spam senders using the distinctive words, ordinary senders not; the spam senders."""
    spam = []
    for i in range(16):
        sender = f"seller{i}@promo{i}.example"
        spam.append(sender)
        for j in range(2):
            when = START + timedelta(hours=3 * i + j)
            body = f"Buy {PHRASES[j % 2]} now, {WORDS[(i + j) % 4]} deal number {i}."
            (root / "spam").mkdir(parents=True, exist_ok=True)
            (root / "spam" / f"{i}-{j}.eml").write_bytes(
                _message(sender, f"{WORDS[i % 4]} for you", body, when, html=True)
            )
    for i in range(24):
        sender = f"person{i}@mail{i % 5}.example"
        for j in range(2):
            when = START + timedelta(hours=2 * i + j, minutes=7)
            body = f"Hi, notes from the meeting about the garden plan, part {j}. Thanks {i}"
            (root / "ham").mkdir(parents=True, exist_ok=True)
            (root / "ham" / f"{i}-{j}.eml").write_bytes(
                _message(sender, "meeting notes", body, when, html=False)
            )
    return spam


def _suspensions(path: Path, events: Path, spam: list[str]) -> int:
    """Suspend most spam senders (by the actor ids the importer wrote)."""
    actors: dict[str, str] = {}
    with gzip.open(events, "rb") as handle:
        for line in handle:
            event = orjson.loads(line)
            actors.setdefault(event["email"], event["actor_id"])
    chosen = [actors[s] for s in spam[:12]]
    with gzip.open(path, "wb") as out:
        for actor in chosen:
            out.write(
                orjson.dumps(
                    {
                        "ts": (START + timedelta(days=5)).isoformat(),
                        "actor_id": actor,
                        "event_type": "suspension",
                    }
                )
                + b"\n"
            )
    return len(chosen)


def _texts(path: Path) -> str:
    """Everything a file holds as text: parquet tables cell by cell, gzip decompressed."""
    if path.suffix == ".parquet":
        frame = pl.read_parquet(path)
        return json.dumps(frame.rows(), default=str) + " ".join(frame.columns)
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    return data.decode("utf-8", "replace")


def test_no_word_of_any_message_reaches_an_output(tmp_path, monkeypatch, caplog, capsys):
    monkeypatch.setenv("RINGSCOPE_SECRET_KEY", SECRET)
    mailbox, events = tmp_path / "mailbox", tmp_path / "in" / "mail.jsonl.gz"
    spam = _mailbox(mailbox)
    assert main(["import-mail", str(mailbox), "--out", str(events), "--workers", "1"]) == 0
    labels = tmp_path / "in" / "labels.jsonl.gz"
    assert _suspensions(labels, events, spam) == 12
    assert any(w in gzip.decompress(events.read_bytes()).decode() for w in WORDS)  # input has them

    out, debug = tmp_path / "snapshots", tmp_path / "debug"
    caplog.set_level(logging.DEBUG)
    code = main(
        ["-v", "run", str(events), str(labels), "--out", str(out), "--debug-dir", str(debug)]
    )
    assert code == 0
    snapshot = out / (out / "LATEST").read_text().strip()
    manifest = json.loads((snapshot / "manifest.json").read_text())
    content = manifest["steps"]["ranking"]["content_model"]
    assert content["supervised"]["used"] is True
    assert content["supervised"]["messages_scored"] >= 60

    captured = capsys.readouterr()
    outputs = [p for root in (out, debug) for p in root.rglob("*") if p.is_file()]
    assert len(outputs) > 10
    texts = {str(p): _texts(p).lower() for p in outputs}
    texts["log"] = (caplog.text + captured.out + captured.err).lower()
    leaks = {(name, w) for name, text in texts.items() for w in _forbidden() if w in text}
    assert not leaks
