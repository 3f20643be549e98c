"""Audio I/O, resampling, levels and the STFT helpers shared by every model."""
from sebench.audio.io import audio_info, read, write
from sebench.audio.levels import active_level_db, peak_db, rms_db
from sebench.audio.resample import resample

__all__ = ["read", "write", "audio_info", "resample", "rms_db", "peak_db", "active_level_db"]
