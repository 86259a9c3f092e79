"""Repeat-offender check at signup: does a new account descend from a banned actor or ring?

The pipeline step ``offender_index`` writes the index tables into each snapshot
(:mod:`~ringscope.signup.index`); :func:`open_checker` loads them into memory, follows
the root's journal of fresh suspensions (:mod:`~ringscope.signup.journal`) and checks
attempts (:mod:`~ringscope.signup.check`), with the offenders nearest the attempt in the
GNN's embedding space when the snapshot has the encoder (:mod:`~ringscope.signup.neighbours`);
:mod:`~ringscope.evaluation.signup` scores results against a generated world's held-back
signups.

Example::

    checker = open_checker(Path("snapshots"), keyring=load_keyring())
    result = checker.check(parse_attempt({"actor_id": "u9", "device_id": "d-1"}))
    result["decision"], result["matches"]
"""

from ringscope.signup.attempt import SignupAttempt, SignupInputError, parse_attempt
from ringscope.signup.check import TIERS, SignupChecker, open_checker
from ringscope.signup.journal import append_suspension

__all__ = [
    "TIERS",
    "SignupAttempt",
    "SignupChecker",
    "SignupInputError",
    "append_suspension",
    "open_checker",
    "parse_attempt",
]
