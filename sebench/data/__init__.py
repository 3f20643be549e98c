"""Kaldi-style data directories: the DataDir API and the `sebench data` operations."""
from sebench.data.datadir import AUDIO_SCPS, DataDir, DataDirError, Utterance, read_kv, write_kv

__all__ = ["DataDir", "DataDirError", "Utterance", "read_kv", "write_kv", "AUDIO_SCPS"]
