"""`sebench data format` (the recipes' stage 2) and PyAV decoding of compressed audio."""
import os

import numpy as np
import pytest
import soundfile as sf
import soxr

from conftest import run_cli, tone, write_wav
from sebench.audio.io import audio_info, read
from sebench.data.datadir import DataDir

pytestmark = pytest.mark.timeout(120)


def write_kv(path, mapping):
    path.write_text("".join(f"{k} {v}\n" for k, v in sorted(mapping.items())))


def paired_48k(root, n=4):
    """A VBD-like data dir: 48 kHz noisy = clean + noise, metadata beside it."""
    rng = np.random.default_rng(0)
    wav, clean, noise = {}, {}, {}
    for i in range(n):
        key = f"p{226 + i % 2}_{i:03d}"
        c = tone(1.0 + 0.25 * i, fs=48000, freq=300 + 50 * i, amp=0.2)
        z = (0.02 * rng.standard_normal(c.size)).astype(np.float32)
        clean[key] = write_wav(root / "clean" / f"{key}.wav", c, 48000, subtype="FLOAT")
        wav[key] = write_wav(root / "noisy" / f"{key}.wav", c + z, 48000, subtype="FLOAT")
        noise[key] = z
    src = root / "src"
    src.mkdir()
    write_kv(src / "wav.scp", wav)
    write_kv(src / "clean.scp", clean)
    write_kv(src / "utt2spk", {k: k.split("_")[0] for k in wav})
    write_kv(src / "utt2snr", {k: str(5 * i) for i, k in enumerate(sorted(wav))})
    (src / "notes.txt").write_text("kept as is\n")
    return src, noise


def test_format_resamples_keeps_metadata_and_derives_noise(tmp_path):
    src, _ = paired_48k(tmp_path)
    out = tmp_path / "out"
    run_cli("data", "format", src, out, "--fs", 16000, "--derive-noise")
    d = DataDir(out)
    keys = DataDir(src).keys
    assert d.keys == keys
    for name in ("utt2spk", "utt2snr"):
        assert d.read(name) == DataDir(src).read(name), name
    assert d.read("spk2utt")["p226"] == " ".join(k for k in keys if k.startswith("p226"))
    assert (out / "notes.txt").read_text() == "kept as is\n"
    n2s, dur, n2fs = d.read("utt2num_samples"), d.read_float("utt2dur"), d.read("utt2fs")
    for key in keys:
        source, _ = read(DataDir(src).read("wav.scp")[key])
        expected = soxr.resample(source, 48000, 16000, quality="HQ")
        audio, fs = read(d.read("wav.scp")[key])
        assert fs == 16000 and n2fs[key] == "16000"
        assert audio.size == expected.size == int(n2s[key])
        assert dur[key] == pytest.approx(audio.size / 16000, abs=1e-4)
        assert np.max(np.abs(audio - expected)) < 1e-4          # 16-bit quantisation only
        clean, _ = read(d.read("clean.scp")[key])
        derived, _ = read(d.read("noise.scp")[key])
        assert np.array_equal(derived, audio - clean)           # from the files as written
        assert sf.info(d.read("noise.scp")[key]).subtype == "FLOAT"
    assert (out / "format.yaml").is_file()
    assert run_cli("data", "validate", out).returncode == 0


def test_format_keeps_usable_files_and_reruns_as_noop(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    ready = write_wav(tmp_path / "a.wav", tone(0.5), 16000)
    other = write_wav(tmp_path / "b.flac", tone(0.5, fs=8000), 8000)
    write_kv(src / "wav.scp", {"a": ready, "b": other})
    out = tmp_path / "out"
    first = run_cli("data", "format", src, out, "--derive-noise")
    assert "no clean.scp: no noise to derive" in first.stderr and not (out / "noise.scp").exists()
    scp = DataDir(out).read("wav.scp")
    assert scp["a"] == str(ready)                               # mono 16 kHz WAV: not copied
    assert scp["b"].startswith(str(out / "audio" / "wav")) and audio_info(scp["b"])[0] == 16000
    stamp = os.stat(scp["b"]).st_mtime_ns
    again = run_cli("data", "format", src, out)
    assert "1 existing, 1 kept" in again.stderr
    assert os.stat(scp["b"]).st_mtime_ns == stamp
    run_cli("data", "format", src, out, "--force", "--copy", "--audio-format", "flac")
    scp = DataDir(out).read("wav.scp")
    assert scp["a"].endswith("audio/wav/a.flac") and os.stat(scp["b"]).st_mtime_ns != stamp


def test_format_never_clips_a_resampling_overshoot(tmp_path):
    square = np.sign(np.sin(2 * np.pi * 1000 * np.arange(4800) / 48000)).astype(np.float32) * 0.999
    src = tmp_path / "src"
    src.mkdir()
    write_kv(src / "wav.scp", {"sq": write_wav(tmp_path / "sq.wav", square, 48000)})
    proc = run_cli("data", "format", src, tmp_path / "out", "--audio-format", "flac")
    path = DataDir(tmp_path / "out").read("wav.scp")["sq"]
    assert path.endswith(".wav") and sf.info(path).subtype == "FLOAT"
    assert np.max(np.abs(read(path)[0])) > 1.0 and "written as float WAV" in proc.stderr


def test_format_one_bad_file_never_sinks_the_batch(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    good = write_wav(tmp_path / "good.wav", tone(0.5, fs=22050), 22050)
    stereo = write_wav(tmp_path / "st.wav", np.stack([tone(0.5), tone(0.5)], axis=1), 16000)
    (tmp_path / "bad.wav").write_bytes(b"not audio")
    write_kv(src / "wav.scp", {"bad": tmp_path / "bad.wav", "good": good, "st": stereo})
    proc = run_cli("data", "format", src, tmp_path / "out")
    assert DataDir(tmp_path / "out").keys == ["good"]
    skipped = (tmp_path / "out" / "skipped.txt").read_text()
    assert "bad " in skipped and "unreadable" in skipped and "2 channels" in skipped
    assert "2 failed" in proc.stderr
    # a channel choice formats the stereo file; every file failing is an error
    run_cli("data", "format", src, tmp_path / "out2", "--channel", "mean")
    assert DataDir(tmp_path / "out2").keys == ["good", "st"]
    write_kv(src / "wav.scp", {"bad": tmp_path / "bad.wav"})
    proc = run_cli("data", "format", src, tmp_path / "out3", check=False)
    assert proc.returncode == 1 and "no utterance could be formatted" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_format_sharded_equals_single_job(tmp_path):
    src, _ = paired_48k(tmp_path, n=5)
    run_cli("data", "format", src, tmp_path / "one", "--derive-noise")
    run_cli("data", "format", src, tmp_path / "two", "--derive-noise", "--nj", 2)
    one, two = DataDir(tmp_path / "one"), DataDir(tmp_path / "two")
    assert one.read("utt2num_samples") == two.read("utt2num_samples")
    for field in ("wav.scp", "noise.scp"):
        for key, path in one.read(field).items():
            assert np.array_equal(read(path)[0], read(two.read(field)[key])[0])
    assert (tmp_path / "two" / "split" / "log" / "format.2.log").is_file()


def _write_aac(path, audio, fs):
    import av
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("aac", rate=fs)
        stream.layout = "mono"
        frame = av.AudioFrame.from_ndarray(audio[None, :], format="flt", layout="mono")
        frame.sample_rate = fs
        for packet in list(stream.encode(frame)) + list(stream.encode(None)):
            container.mux(packet)


def test_m4a_is_read_through_pyav_and_formatted(tmp_path):
    pytest.importorskip("av")
    m4a = tmp_path / "id00012" / "00001.m4a"
    m4a.parent.mkdir()
    _write_aac(m4a, tone(1.0, fs=16000, freq=440, amp=0.3), 16000)
    with pytest.raises(Exception):
        sf.info(m4a)                                  # libsndfile cannot read AAC
    audio, fs = read(m4a)
    assert fs == 16000 and audio.size >= 16000
    spectrum = np.abs(np.fft.rfft(audio[2048:2048 + 8192]))
    assert np.argmax(spectrum) * 16000 / 8192 == pytest.approx(440, abs=4)
    assert audio_info(m4a) == (16000, audio.size, 1)
    src = tmp_path / "src"
    src.mkdir()
    write_kv(src / "wav.scp", {"id00012-00001": m4a})
    run_cli("data", "format", src, tmp_path / "out", "--fs", 8000)
    path = DataDir(tmp_path / "out").read("wav.scp")["id00012-00001"]
    assert path.endswith(".wav") and audio_info(path)[:2] == (8000, audio.size // 2)
    # the folder listing used by `data from-folder` finds .m4a files too
    run_cli("data", "from-folder", tmp_path / "id00012", tmp_path / "ff")
    assert DataDir(tmp_path / "ff").keys == ["00001"]
    (tmp_path / "broken.m4a").write_bytes(b"\x00" * 64)
    with pytest.raises(Exception, match="broken.m4a: unreadable audio"):
        read(tmp_path / "broken.m4a")
