"""Scoring: robust per-utterance metrics, sharded runs and result tables."""
