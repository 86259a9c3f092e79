"""Real mail as input: raw RFC 5322 messages -> ``message`` events of the input contract.

>>> from ringscope.ingest.mail import import_mail
>>> stats = import_mail("maildir/", "events.jsonl.gz", keyring=keyring)  # doctest: +SKIP
>>> stats.events + stats.rejected_total == stats.messages  # doctest: +SKIP
True

See :mod:`.parse` for what each header becomes and the reject reasons.
"""

from ringscope.ingest.mail.importer import ImportStats, default_rejects_path, import_mail
from ringscope.ingest.mail.parse import MailEvent, MailRejected, parse_message
from ringscope.ingest.mail.sources import RawMessage, iter_messages

__all__ = [
    "ImportStats",
    "MailEvent",
    "MailRejected",
    "RawMessage",
    "default_rejects_path",
    "import_mail",
    "iter_messages",
    "parse_message",
]
