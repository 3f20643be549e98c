"""Audio sources given on the command line: a data dir, an scp file or a folder of audio."""
import os

from sebench.data.datadir import DataDir, read_kv
from sebench.data.folder import key_of, list_audio
from sebench.errors import SebenchError


def audio_map(spec, role):
    """key -> path from a data dir (wav.scp; clean.scp for the reference), scp or folder.

    A data dir given as the reference must have clean.scp: falling back to its wav.scp
    would score estimates against the noisy input and look plausible."""
    if spec is None:
        return None
    if os.path.isdir(spec):
        ddir = DataDir(spec)
        if role == "ref" and ddir.has("wav.scp"):
            if not ddir.has("clean.scp"):
                raise SebenchError(f"--ref {spec}: the data dir has no clean.scp (no clean "
                                   "reference); give its scp file explicitly to score against it")
            return ddir.read("clean.scp")
        if ddir.has("wav.scp"):
            return ddir.read("wav.scp")
        return {key_of(rel): os.path.join(os.path.abspath(spec), rel) for rel in list_audio(spec)}
    if os.path.isfile(spec):
        return read_kv(spec)
    raise SebenchError(f"--{role} {spec}: not found (expected a data dir, an scp file or a folder)")


def speaker_map(spec, keys):
    """utt2spk of a data dir source; otherwise every key is its own speaker."""
    if spec and os.path.isdir(spec) and DataDir(spec).has("utt2spk"):
        utt2spk = DataDir(spec).read("utt2spk")
        return {k: utt2spk.get(k, k) for k in keys}
    return {k: k for k in keys}
