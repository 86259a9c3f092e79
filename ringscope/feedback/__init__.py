"""Investigators' verdicts as labels: the learned cluster ranker, carried verdicts, the
review lane and the labels the actor risk model learns from.

* :mod:`~ringscope.feedback.features`: the cluster feature vector every snapshot stores.
* :mod:`~ringscope.feedback.labels`: cluster and account labels from the verdict store.
* :mod:`~ringscope.feedback.ranker`: the monotone LightGBM ranker and its contributions.
* :mod:`~ringscope.feedback.nearest`: the verdicts of the judged clusters one resembles.
* :mod:`~ringscope.feedback.review`: "dismissed before", reopened clusters, the lane.
* :mod:`~ringscope.feedback.step`: the pipeline steps that read the store and rerank.
"""
