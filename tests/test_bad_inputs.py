"""Bad input never sinks a batch, and nothing is lost (issue 12).

Fast regression tests, one or more per item; `tests/bad_input_matrix.py` runs the whole
matrix of bad inputs x commands and prints the table.
"""
import errno
import io
import os
import shlex
import shutil
import signal
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf
import torch

from sebench.errors import OutputError, SebenchError
from tests.conftest import REPO, run_cli, tone, write_wav

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SEBENCH_CACHE_DIR", str(tmp_path / "cache"))


def make_dir(root, files, clean=False, labels=False):
    """A data dir over ``{key: path}`` (clean.scp = the same files, utt2mos 1..5)."""
    root.mkdir(parents=True, exist_ok=True)
    lines = "".join(f"{k} {files[k]}\n" for k in sorted(files))
    (root / "wav.scp").write_text(lines)
    if clean:
        (root / "clean.scp").write_text(lines)
    if labels:
        (root / "utt2mos").write_text("".join(f"{k} {1 + i % 5}\n"
                                              for i, k in enumerate(sorted(files))))
    return root


def good_files(folder, n=3, seconds=1.0):
    return {f"good{i}": write_wav(folder / f"good{i}.wav", tone(seconds, freq=300 + 50 * i, seed=i))
            for i in range(n)}


# -- NaN/Inf in training data: found when the dataset is built, once (cached) ----------------
def test_training_scan_finds_nan_in_first_70ms_once_and_caches(tmp_path, monkeypatch):
    from sebench.data import scan
    from sebench.train.data import AudioDataset

    files = good_files(tmp_path / "a")
    x = tone(2.0)
    x[320] = np.nan                       # 20 ms in: a 1 s crop rarely touched it
    files["nan"] = write_wav(tmp_path / "a" / "nan.wav", x, subtype="FLOAT")
    ddir = make_dir(tmp_path / "d", files)
    with pytest.raises(SebenchError) as err:
        AudioDataset(ddir, segment=1.0)
    message = str(err.value)
    assert "\n" not in message and "1 of 4 utterance(s) unusable" in message
    assert "nan.wav: contains 1 non-finite (NaN/inf) samples, the first at 0.020 s" in message
    assert "--data.skip_bad true" in message

    calls = []
    real = scan.scan_file
    monkeypatch.setattr(scan, "scan_file", lambda p: calls.append(p) or real(p))
    ds = AudioDataset(ddir, segment=1.0, skip_bad=True)           # cached: no file read again
    assert ds.keys == ["good0", "good1", "good2"] and calls == []
    assert ds.num_samples == [16000] * 3
    os.utime(files["good1"], ns=(1, 1))                            # a changed file is rescanned
    AudioDataset(ddir, segment=1.0, skip_bad=True)
    assert calls == [str(files["good1"])]


def test_train_refuses_nan_file_before_any_step(tmp_path):
    files = good_files(tmp_path / "a", 4)
    x = tone(1.0)
    x[100] = np.inf
    files["inf"] = write_wav(tmp_path / "a" / "inf.wav", x, subtype="FLOAT")
    ddir = make_dir(tmp_path / "d", files, clean=True)
    exp = tmp_path / "exp"
    proc = run_cli("train", "--train", ddir, "--model-config",
                   REPO / "conf/models/cnn_blstm_tiny.yaml", "--exp", exp, "--train.epochs", 1,
                   "--data.batch_size", 2, check=False,
                   env=dict(os.environ, SEBENCH_CACHE_DIR=str(tmp_path / "cache")))
    assert proc.returncode == 1
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("sebench train: error: ") and "inf.wav: contains 1 non-finite" in last
    assert not (exp / "checkpoints" / "latest.pt").exists()


def test_data_channel_selects_a_channel_of_multichannel_files(tmp_path):
    from sebench.train.data import AudioDataset

    files = good_files(tmp_path / "a", 2)
    stereo = np.stack([tone(1.0, freq=200), tone(1.0, freq=900)], axis=1)
    files["stereo"] = write_wav(tmp_path / "a" / "stereo.wav", stereo)
    ddir = make_dir(tmp_path / "d", files)
    with pytest.raises(SebenchError, match=r"stereo.wav: has 2 channels; select one with "
                                           r"--data.channel \(0..1\) or 'mean'"):
        AudioDataset(ddir)
    ds = AudioDataset(ddir, channel=1)
    item = ds[ds.keys.index("stereo")]["wav"].numpy()
    assert np.allclose(item, sf.read(files["stereo"], dtype="float32")[0][:, 1])
    assert ds[ds.keys.index("good0")]["wav"].shape == (16000,)    # mono files stay as they are
    with pytest.raises(SebenchError, match="channel 2 requested but the file has 2"):
        AudioDataset(ddir, channel=2)


def test_too_short_files_fail_alone(trained_exp, tmp_path):
    from sebench.train.data import AudioDataset

    files = good_files(tmp_path / "a", 2)
    files["short"] = write_wav(tmp_path / "a" / "short.wav", tone(0.01))
    with pytest.raises(SebenchError, match=r"short.wav: too short: 0.010 s \(training needs at "
                                           r"least 0.1 s\)"):
        AudioDataset(make_dir(tmp_path / "d", files))
    out = tmp_path / "out"
    proc = run_cli("enhance", trained_exp, tmp_path / "a", "-o", out, check=False)
    assert proc.returncode == 1
    assert "short.wav: 160 samples are too short for the STFT (n_fft 512 needs more than 256)" \
        in proc.stderr
    assert "1 of 3 input(s) failed (listed above); the others were written" in proc.stderr
    assert sorted(os.listdir(out)) == ["good0.wav", "good1.wav", "wav.scp"]


# -- train-qp: long files are cropped (training) and scored in windows (validation) ---------
def test_predictor_memory_bounded_by_crop_and_windows(tmp_path):
    from sebench.train.config import qp_defaults as _defaults
    from sebench.quality import build_predictor
    from sebench.quality.windows import score_in_windows, window_starts
    from sebench.train.data import AudioDataset, train_crop_seconds

    dcfg = _defaults()["data"]
    assert dcfg["segment"] is None and train_crop_seconds(dcfg) == 10.0
    assert train_crop_seconds({"segment": 3.0, "max_seconds": 10.0}) == 3.0
    assert train_crop_seconds({"segment": None, "max_seconds": None}) is None
    files = {"long": write_wav(tmp_path / "long.wav", tone(25.0, seed=1)),
             "short": write_wav(tmp_path / "short.wav", tone(4.0, seed=2))}
    ds = AudioDataset(make_dir(tmp_path / "d", files), segment=train_crop_seconds(dcfg))
    assert [ds[i]["wav"].shape[0] for i in range(2)] == [160000, 64000]   # short ones stay whole

    assert window_starts(250, 100) == [0, 75, 150] and window_starts(90, 100) == [0]
    q = build_predictor({"name": "cnn", "channels": [4, 4], "kernel": 3, "fc": [8]}).eval()
    wave = torch.from_numpy(tone(2.5, seed=3))[None]
    with torch.no_grad():
        whole = score_in_windows(q, wave, None, 48000)
        assert torch.allclose(whole, q(wave))                     # not longer than a window
        parts = [q(wave[:, s:s + 16000]) for s in (0, 12000, 24000)]
        assert torch.allclose(score_in_windows(q, wave, torch.tensor([40000]), 16000),
                              torch.cat(parts).mean(), atol=1e-6)


# -- temporaries of killed runs: removed by the next run, never listed as audio -------------
KILLED_WRITER = """
import sys, time
from sebench.utils.fileio import atomic_path
with atomic_path(sys.argv[1]) as tmp:
    open(tmp, "w").write("half")
    print(tmp, flush=True)
    time.sleep(60)
"""


def test_killed_writers_temporaries_removed_and_never_listed(tmp_path):
    from sebench.data.folder import list_audio
    from sebench.utils.fileio import atomic_path, atomic_write_text, remove_stale_temporaries

    out = tmp_path / "out" / "sub"
    write_wav(out / "kept.wav", tone(0.1))
    proc = subprocess.Popen([sys.executable, "-c", KILLED_WRITER, str(out / "x.wav")],
                            stdout=subprocess.PIPE, text=True, cwd=REPO)
    leftover = proc.stdout.readline().strip()
    assert os.path.basename(leftover).startswith(".x.wav.") and leftover.endswith(".tmp.wav")
    assert remove_stale_temporaries(tmp_path / "out", recursive=True) == []   # writer alive: kept
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    write_wav(out / "._mac.wav", tone(0.1))                       # other hidden files: not audio
    assert os.path.exists(leftover) and list_audio(tmp_path / "out") == ["sub/kept.wav"]

    with atomic_path(out / "y.txt") as live:          # a live temporary of this process is kept
        open(live, "w").write("...")
        atomic_write_text(out / "z.txt", "z")         # the folder's first write cleans it up
        assert not os.path.exists(leftover) and os.path.exists(live)
    assert sorted(os.listdir(out)) == ["._mac.wav", "kept.wav", "y.txt", "z.txt"]


def test_enhance_removes_leftover_temporaries_of_a_killed_run(trained_exp, tmp_path):
    inp = tmp_path / "in"
    write_wav(inp / "a.wav", tone(0.5, seed=1))
    out = tmp_path / "out"
    write_wav(out / "a.wav", tone(0.5, seed=1))          # as a killed run left it: a finished
    write_wav(out / ".a.wav.k1ll3d00.tmp.wav", tone(0.1))   # output and a temporary
    run_cli("enhance", trained_exp, inp, "-o", out)      # nothing left to enhance: a cleanup
    assert sorted(os.listdir(out)) == ["a.wav", "wav.scp"]


# -- full or read-only output disks: one line naming the path and the cause ----------------
def _statvfs_full(real):
    def fake(path):
        st = real(path)
        return os.statvfs_result((st.f_bsize, st.f_frsize, st.f_blocks, 0, 0, st.f_files,
                                  st.f_ffree, st.f_favail, 0, st.f_namemax))
    return fake


def test_library_write_errors_name_path_and_cause(tmp_path, monkeypatch):
    from sebench.audio.io import write
    from sebench.utils.fileio import atomic_path, atomic_write_text

    class FullDisk(io.BytesIO):                        # the encoded bytes do not fit
        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")
    with monkeypatch.context() as m:
        m.setattr("sebench.audio.io.open", lambda *a, **k: FullDisk(), raising=False)
        for subtype in ("PCM_16", "FLOAT"):             # the wave-module and libsndfile encoders
            with pytest.raises(OutputError, match=r"a\.wav: No space left on device") as e:
                write(tmp_path / "a.wav", tone(0.1), 16000, subtype=subtype)
            assert e.value.stops_batch and os.listdir(tmp_path) == []

    def enospc(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")
    with pytest.raises(OutputError, match="t.txt: No space left on device"):
        with monkeypatch.context() as m:
            m.setattr("builtins.open", enospc)
            atomic_write_text(tmp_path / "t.txt", "x")
    assert os.listdir(tmp_path) == []
    with pytest.raises(ValueError):                    # not a write failure: propagates as it is
        with atomic_path(tmp_path / "b.txt"):
            raise ValueError("a bug")
    assert os.listdir(tmp_path) == []


def test_failed_checkpoint_save_keeps_the_previous_latest(tmp_path, monkeypatch):
    from sebench.train import checkpoint as ckpt

    path = tmp_path / "checkpoints" / "latest.pt"
    ckpt.save(path, {"step": 5, "w": torch.ones(3)})
    good = path.read_bytes()
    real_save = torch.save

    def fail_midway(obj, f):
        real_save({"step": 6, "w": torch.zeros(1000)}, f)
        with open(f, "r+b") as h:
            h.truncate(100)
        raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 64 vs 0")
    monkeypatch.setattr(torch, "save", fail_midway)
    monkeypatch.setattr(os, "statvfs", _statvfs_full(os.statvfs))
    with pytest.raises(OutputError, match=r"latest\.pt: No space left on device \(the previous "
                                          r"one is kept; free the disk and rerun to resume\)"):
        ckpt.save(path, {"step": 6})
    monkeypatch.undo()

    def silently_short(obj, f):                       # no exception, but an incomplete archive
        real_save(obj, f)
        with open(f, "r+b") as h:
            h.truncate(200)
    monkeypatch.setattr(torch, "save", silently_short)
    with pytest.raises(OutputError, match="incomplete"):
        ckpt.save(path, {"step": 7, "w": torch.zeros(1000)})
    assert path.read_bytes() == good and os.listdir(path.parent) == ["latest.pt"]
    assert ckpt.load(path)["step"] == 5


def test_enhance_goes_on_after_a_failed_write_and_stops_on_a_full_disk(trained_exp, tmp_path,
                                                                        monkeypatch, capsys):
    import sebench.audio.io as audio_io
    from sebench.cli.main import main

    inp = tmp_path / "in"
    for name in ("a", "b", "c", "d"):
        write_wav(inp / f"{name}.wav", tone(0.5 + 0.1 * "abcd".index(name), seed=1))
    real_write = audio_io.write

    def write(path, audio, fs, subtype="PCM_16"):
        name = os.path.basename(path)
        if name == "a.wav":
            raise OutputError(path, "Permission denied", errno.EACCES)
        if name == "c.wav":
            raise OutputError(path, "No space left on device", errno.ENOSPC)
        return real_write(path, audio, fs, subtype)
    monkeypatch.setattr(audio_io, "write", write)
    out = tmp_path / "out"
    assert main(["enhance", str(trained_exp), str(inp), "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert "a.wav: Permission denied" in err and "c.wav: No space left on device" in err
    assert ("sebench enhance: error: stopped: cannot write " in err
            and "1 of 4 written, 1 not attempted (rerun to continue)" in err)
    assert sorted(os.listdir(out)) == ["b.wav", "wav.scp"]        # b was written, d not tried
    assert (out / "wav.scp").read_text().split()[0] == "b"


def _can_mount():
    if os.geteuid() != 0 or not shutil.which("unshare"):
        return False
    return subprocess.run(["unshare", "-m", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"],
                          capture_output=True).returncode == 0


def run_on_mount(target, disk, *args):
    """`sebench ARGS` with a private tmpfs on ``target``: ``disk`` "full" or "ro"."""
    target.mkdir(parents=True, exist_ok=True)
    where = shlex.quote(str(target))
    mount = (f"mount -t tmpfs -o size=1m tmpfs {where} && (head -c 2M /dev/zero > {where}/.fill; "
             "true)" if disk == "full" else f"mount -t tmpfs -o ro,size=64k tmpfs {where}")
    argv = [sys.executable, "-m", "sebench.cli.main", *args]
    cmd = f"{mount} && exec " + " ".join(shlex.quote(str(a)) for a in argv)
    return subprocess.run(["unshare", "-m", "sh", "-c", cmd], capture_output=True, text=True,
                          cwd=REPO)


@pytest.mark.skipif(not _can_mount(), reason="needs root and mount namespaces (unshare -m)")
@pytest.mark.parametrize("disk, cause", [("full", "No space left on device"),
                                         ("ro", "Read-only file system")])
def test_real_full_or_readonly_disk_one_line_with_path(tmp_path, disk, cause):
    enh = tmp_path / "enh"
    for i in range(3):
        write_wav(enh / f"u{i}.wav", tone(3.0, seed=i))
    out = tmp_path / "mnt" / "scores"
    proc = run_on_mount(tmp_path / "mnt", disk, "score", "--enh", enh, "--ref", enh,
                        "--metrics", "sisdr", "--out", out)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 1, proc.stderr
    assert lines[-1].startswith("sebench score: error: ") and cause in lines[-1]
    assert str(tmp_path / "mnt") in lines[-1] and "internal error" not in proc.stderr
    assert not (tmp_path / "mnt").exists() or not any((tmp_path / "mnt").iterdir())


# -- byte-order marks and encodings of Kaldi text files -------------------------------------
def test_bom_is_dropped_everywhere_and_validate_warns(tmp_path):
    from sebench.data.datadir import DataDir, read_list
    from sebench.data.validate import validate
    from sebench.enhance.inputs import resolve_inputs

    files = good_files(tmp_path / "a")
    ddir = make_dir(tmp_path / "d", files)
    scp = ddir / "wav.scp"
    scp.write_bytes(b"\xef\xbb\xbf" + scp.read_bytes().replace(b"\n", b"\r\n"))   # Notepad
    (ddir / "utt2spk").write_bytes(b"\xef\xbb\xbfgood0 s\r\ngood1 s\r\ngood2 s\r\n")
    assert DataDir(ddir).keys == ["good0", "good1", "good2"]
    assert [it.rel for it in resolve_inputs([str(ddir)])][0] == "good0.wav"
    (tmp_path / "keys").write_bytes(b"\xef\xbb\xbfgood1\n")
    assert read_list(tmp_path / "keys") == ["good1"]
    report = validate(ddir)
    assert report.ok and any("byte-order mark" in w for w in report.warnings)
    run_cli("data", "fix", ddir)
    assert scp.read_bytes().startswith(b"good0 ") and b"\r" not in scp.read_bytes()
    (ddir / "utt2mos").write_bytes(b"good0 3\ngood1 caf\xe9\n")
    proc = run_cli("data", "validate", ddir, check=False)
    assert "utt2mos: not UTF-8 text (byte 17 is b'\\xe9'); save it as UTF-8" in proc.stdout
    assert "1 problem(s)" in proc.stdout


# -- data validate: what the header reveals, and every sample with --samples ---------------
def test_validate_reports_stereo_rate_truncation_and_nan(tmp_path):
    files = good_files(tmp_path / "a", 4)
    files["stereo"] = write_wav(tmp_path / "a" / "stereo.wav", np.stack([tone(1.0)] * 2, axis=1))
    files["rate8k"] = write_wav(tmp_path / "a" / "rate8k.wav", tone(1.0, fs=8000), fs=8000)
    whole = write_wav(tmp_path / "whole.wav", tone(1.0)).read_bytes()
    files["cut"] = tmp_path / "a" / "cut.wav"
    files["cut"].write_bytes(whole[:len(whole) // 2])
    x = tone(1.0)
    x[500] = np.nan
    files["nan"] = write_wav(tmp_path / "a" / "nan.wav", x, subtype="FLOAT")
    ddir = make_dir(tmp_path / "d", files)
    proc = run_cli("data", "validate", ddir, check=False)
    assert proc.returncode == 1
    assert "stereo.wav: has 2 channels" in proc.stdout
    assert ("cut.wav: truncated: the header declares 32000 bytes of audio, the file holds"
            in proc.stdout)
    assert "mixed sample rates: 7 file(s) at 16000 Hz, 8000 Hz: 1 (e.g. 'rate8k')" in proc.stdout
    assert "non-finite" not in proc.stdout                           # headers cannot tell
    proc = run_cli("data", "validate", ddir, "--samples", "--fs", 16000, check=False,
                   env=dict(os.environ, SEBENCH_CACHE_DIR=str(tmp_path / "cache")))
    assert "nan.wav: contains 1 non-finite (NaN/inf) samples, the first at 0.031 s" in proc.stdout
    assert "rate8k.wav: sample rate is 8000 Hz, expected 16000 Hz" in proc.stdout
    assert "4 problem(s)" in proc.stdout.splitlines()[0]


# -- the error line starts a line of its own in job logs -----------------------------------
def test_error_line_not_glued_to_progress_bar_in_logs(tmp_path):
    clean = tmp_path / "clean"
    for i in range(4):
        x = tone(1.0, seed=i)
        if i == 2:
            x[100] = np.nan
        write_wav(clean / f"u{i}.wav", x, subtype="FLOAT")
    write_wav(tmp_path / "noise" / "n.wav", tone(2.0, freq=50, seed=9))
    proc = run_cli("simulate", "--clean", clean, "--noise", tmp_path / "noise", "--out",
                   tmp_path / "out", check=False, env=dict(os.environ, SEBENCH_NO_PROGRESS="0"))
    assert proc.returncode == 1
    assert "\r" not in proc.stderr and "mixtures:" in proc.stderr     # bars: whole lines
    last = proc.stderr.splitlines()[-1]
    assert last.startswith("sebench simulate: error: item 2: ") and "u2.wav" in last


# -- option values: checked before any work, one line naming the option --------------------
SIM = ["simulate", "--clean", "c", "--noise", "n", "--out", "o"]
TRAIN = ["train", "--train", "d", "--exp", "e"]


@pytest.mark.parametrize("argv, message", [
    (SIM + ["--snr-range", "a", "b"], "argument --snr-range: invalid float value: 'a'"),
    (SIM + ["--snrs", "5,x"], "argument --snrs: expected comma-separated numbers, got 'x' in '5,x'"),
    (SIM + ["--subtype", "PCM_99"], "error: option subtype: expected one of PCM_16, PCM_24, "
                                    "PCM_32, FLOAT, got 'PCM_99'"),
    (TRAIN + ["--train.epochs=-3"], "error: option train.epochs: expected a number >= 0, got -3"),
    (TRAIN + ["--data.batch_size", "2.5"], "option data.batch_size: expected an integer, got 2.5"),
    (TRAIN + ["--config", "{yaml}"], "error: option train: expected a section (a mapping of keys), "
                                     "got 3"),
    (TRAIN + ["--ngpu", "0"], "argument --ngpu: expected an integer >= 1, got '0'"),
])
def test_bad_option_values_fail_before_any_work(argv, message, tmp_path, capsys, monkeypatch):
    from sebench.cli.main import main

    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.yaml").write_text("train: 3\n")
    argv = [a.replace("{yaml}", str(tmp_path / "bad.yaml")) for a in argv]
    try:
        code = main(argv)
    except SystemExit as e:          # argparse's own errors
        code = e.code
    err = capsys.readouterr().err.strip().splitlines()
    assert code in (1, 2) and message in err[-1] and "internal error" not in err[-1]
    assert os.listdir(tmp_path) == ["bad.yaml"]                   # nothing was started
