"""Scoring ringscope's output against a generated world's ground truth, in one place.

:mod:`ringscope.evaluation.rings` scores a snapshot's clusters and actor risk
(``ringscope evaluate``, the quality benches); :mod:`ringscope.evaluation.signup` scores
signup checks against the world's held-back signups (``ringscope signup-eval``).
"""
