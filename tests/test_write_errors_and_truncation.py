"""Issue 31, items 1, 7 and 9 (format part): a full, read-only or failing disk stops every
command in every mode (never a "skipped" item), truncated audio never passes `prepare`,
`data format` or `data validate`, and `data format` warns with the count of its failures."""
import errno
import logging
import os
import shlex
import shutil
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from conftest import tone, write_wav
from sebench.data.datadir import DataDir
from sebench.errors import OutputError
from test_metrics import speech_like

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FS = 16000


@pytest.fixture
def caplog(caplog):
    """pytest's caplog, also attached to the "sebench" logger, which does not propagate once
    the CLI has set up logging."""
    logger = logging.getLogger("sebench")
    logger.addHandler(caplog.handler)
    yield caplog
    logger.removeHandler(caplog.handler)


def write_kv(path, mapping):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{k} {v}\n" for k, v in sorted(mapping.items())))


def _can_mount():
    if os.geteuid() != 0 or not shutil.which("unshare"):
        return False
    return subprocess.run(["unshare", "-m", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"],
                          capture_output=True).returncode == 0


def run_on_small_tmpfs(target, size, *args):
    """`sebench ARGS` with a private ``size`` tmpfs on ``target`` (a mount namespace of its
    own: the mount ends with the process, nothing to unmount)."""
    target.mkdir(parents=True, exist_ok=True)
    where = shlex.quote(str(target))
    argv = " ".join(shlex.quote(str(a)) for a in [sys.executable, "-m", "sebench.cli.main", *args])
    cmd = f"mount -t tmpfs -o size={size} tmpfs {where} && exec {argv}"
    return subprocess.run(["unshare", "-m", "sh", "-c", cmd], capture_output=True, text=True,
                          cwd=REPO)


def _sources(root, n=12, long_seconds=None):
    """``n`` clean files of 1.5 s (with ``long_seconds``, all but the first that long)."""
    for i in range(n):
        seconds = long_seconds if long_seconds and i else 1.5
        write_wav(root / "clean" / f"spk{i % 3}_u{i:02d}.wav", speech_like(seconds, FS, seed=20 + i))
    write_wav(root / "noise" / "n.wav",
              (np.random.default_rng(0).standard_normal(FS * 2) * 0.05).astype(np.float32))
    return root


# -- item 1: write errors are never skipped ----------------------------------------------------
@pytest.mark.slow
@pytest.mark.skipif(not _can_mount(), reason="needs root and mount namespaces (unshare -m)")
@pytest.mark.parametrize("nj", [1, 2])
def test_simulate_on_a_nearly_full_disk_stops_even_with_on_error_skip(tmp_path, nj):
    # the first mixture fits, the second does not: its leftovers and the failed ones' freed
    # space leave room for the index, so a skip of write errors would end "successfully"
    src = _sources(tmp_path / "src", long_seconds=10)
    out = tmp_path / "mnt" / "sim"
    proc = run_on_small_tmpfs(tmp_path / "mnt", "600k", "simulate", "--clean", src / "clean",
                              "--noise", src / "noise", "--out", out,
                              "--on_error", "skip", "--nj", nj)
    last = proc.stderr.strip().splitlines()[-1]
    assert proc.returncode == 1, proc.stderr
    assert "cannot write " in last and "No space left on device" in last, proc.stderr
    assert "--on_error skip" not in last       # the skip hint is for unusable sources only
    assert "internal error" not in proc.stderr


def test_simulate_skip_mode_skips_bad_sources_but_stops_on_a_write_error(tmp_path,
                                                                         monkeypatch):
    from sebench.simulate import simulate as sim_module
    from sebench.simulate.simulate import DEFAULTS, Simulator, Sources

    src = _sources(tmp_path / "src", n=3)
    write_wav(src / "clean" / "spk9_silent.wav", np.zeros(FS, np.float32))
    from sebench.data.sources import audio_map, speaker_map
    clean, noise = audio_map(str(src / "clean"), "clean"), audio_map(str(src / "noise"), "noise")
    cfg = dict(DEFAULTS, on_error="skip", subtype="FLOAT")
    sources = Sources(clean, speaker_map(str(src / "clean"), clean), noise, None, None, cfg)
    sim = Simulator(cfg, sources, str(tmp_path / "out"))
    rows = [sim.make(i) for i in range(sim.num)]
    assert sum("skipped" in r for r in rows) == 1            # the silent source, only
    real_write = sim_module.write

    def failing(path, audio, fs, subtype="PCM_16", sync=True):
        if "/clean/" in str(path):
            raise OutputError(path, os.strerror(errno.EIO), errno.EIO)
        return real_write(path, audio, fs, subtype=subtype, sync=sync)
    monkeypatch.setattr(sim_module, "write", failing)
    with pytest.raises(OutputError, match=r"cannot write .*/clean/.*: Input/output error"):
        sim.make(0)


def test_egs_dns_simulate_configs_skip_only_sources():
    import yaml
    for name in ("simulate_pretrain.yaml", "simulate_finetune.yaml"):
        with open(os.path.join(REPO, "egs", "dns", "se1", "conf", name)) as f:
            assert yaml.safe_load(f)["on_error"] == "skip"
    # ... which, by the test above, leaves out unusable sources and stops on write errors


def test_format_stops_on_a_write_error_instead_of_skipping(tmp_path, monkeypatch, capsys):
    import sebench.data.format as fmt
    from sebench.cli.main import main
    from sebench.errors import OutputError as Err

    src = tmp_path / "src"
    wavs = {f"u{i}": write_wav(tmp_path / f"u{i}.wav", tone(0.3, fs=22050, seed=i), 22050)
            for i in range(3)}
    write_kv(src / "wav.scp", wavs)

    def enospc(path, audio, fs, subtype="PCM_16"):
        raise Err(path, "No space left on device", errno.ENOSPC)
    monkeypatch.setattr(fmt, "write", enospc)
    assert main(["data", "format", str(src), str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("sebench data: error: cannot write ")
    assert "No space left on device" in err[-1]
    assert not (tmp_path / "out" / "wav.scp").exists()
    assert not (tmp_path / "out" / "skipped.txt").exists()


@pytest.mark.slow
@pytest.mark.skipif(not _can_mount(), reason="needs root and mount namespaces (unshare -m)")
@pytest.mark.parametrize("nj", [1, 2])
def test_format_on_a_full_disk_says_cannot_write_in_every_mode(tmp_path, nj):
    wavs = {f"u{i}": write_wav(tmp_path / f"u{i}.wav", tone(3.0, fs=22050, seed=i), 22050)
            for i in range(8)}
    write_kv(tmp_path / "src" / "wav.scp", wavs)
    proc = run_on_small_tmpfs(tmp_path / "mnt", "300k", "data", "format", tmp_path / "src",
                              tmp_path / "mnt" / "out", "--nj", nj)
    last = proc.stderr.strip().splitlines()[-1]
    assert proc.returncode == 1, proc.stderr
    assert last.startswith("sebench data: error: cannot write ") and "No space left" in last


def test_enhance_stops_on_an_io_error_like_a_full_disk():
    assert OutputError("x", "Input/output error", errno.EIO).stops_batch
    assert OutputError("x", "No space left on device", errno.ENOSPC).stops_batch
    assert not OutputError("x", "Permission denied", errno.EACCES).stops_batch


def test_prepare_write_error_names_the_path(tmp_path, monkeypatch, capsys):
    from sebench.cli.main import main
    from sebench.corpora import testing, writer

    root = testing.make_daps_tree(tmp_path / "daps", speakers=("f1", "f2", "m1", "m2"),
                                  scripts=("script1", "script2", "script3"), devices=())
    real_open = open

    def full_disk(path, mode="r", *a, **k):
        if "w" in mode and ".tmp-" in str(path):
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real_open(path, mode, *a, **k)
    monkeypatch.setattr(writer, "open", full_disk, raising=False)
    cfg = tmp_path / "d.yaml"
    cfg.write_text("speakers_per_gender: {cae: 1, mae: 0, test: 1}\n"
                   "scripts_per_segment: {cae: 1, mae: 1, test: 1}\n")
    rc = main(["prepare", "daps", "--root", str(root), "--out", str(tmp_path / "data"),
               "--config", str(cfg)])
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert rc == 1 and "error: cannot write " in last and "No space left on device" in last
    assert str(tmp_path / "data") in last


# -- item 7: truncated audio -------------------------------------------------------------------
def _truncate(path, keep_fraction=0.5):
    data = path.read_bytes()
    path.write_bytes(data[:int(len(data) * keep_fraction)])
    return path


def test_format_refuses_truncated_wav_and_flac(tmp_path, caplog):
    from sebench.cli.main import main

    src = tmp_path / "src"
    good = write_wav(tmp_path / "good.wav", tone(0.5, seed=1))
    cut_wav = _truncate(write_wav(tmp_path / "cut.wav", tone(0.5, seed=2)))     # converted...
    cut_wav22 = _truncate(write_wav(tmp_path / "cut22.wav", tone(0.5, fs=22050, seed=3), 22050))
    flac = tmp_path / "cut.flac"                     # ... and kept as it is at the target rate
    sf.write(flac, tone(2.0, seed=4) + 0.05 * np.random.default_rng(4).standard_normal(
        2 * FS).astype(np.float32), FS)
    _truncate(flac)
    write_kv(src / "wav.scp", {"good": good, "cut": cut_wav, "cut22": cut_wav22, "flac": flac})
    assert main(["data", "format", str(src), str(tmp_path / "out")]) == 0
    assert DataDir(tmp_path / "out").keys == ["good"]
    skipped = (tmp_path / "out" / "skipped.txt").read_text()
    for key in ("cut", "cut22", "flac"):
        assert any(line.startswith(key + " ") and "truncated" in line
                   for line in skipped.splitlines()), skipped
    # item 9: the failures are a WARNING with the count
    assert any(r.levelname == "WARNING" and "3 failed of 4 utterance(s)" in r.getMessage()
               for r in caplog.records), caplog.text


def test_format_exits_nonzero_when_nothing_usable_remains(tmp_path, capsys):
    from sebench.cli.main import main

    src = tmp_path / "src"
    cut = _truncate(write_wav(tmp_path / "cut.wav", tone(0.5, seed=2)))
    write_kv(src / "wav.scp", {"cut": cut})
    assert main(["data", "format", str(src), str(tmp_path / "out")]) == 1
    assert "no utterance could be formatted" in capsys.readouterr().err


def test_validate_compares_the_lengths_of_wav_and_clean_pairs(tmp_path):
    from sebench.data.validate import validate

    d = tmp_path / "d"
    noisy = write_wav(tmp_path / "n.wav", tone(1.0, seed=1))
    clean_short = write_wav(tmp_path / "c.wav", tone(0.9, seed=2))
    write_kv(d / "wav.scp", {"u1": noisy})
    write_kv(d / "clean.scp", {"u1": clean_short})
    write_kv(d / "utt2spk", {"u1": "s"})
    write_kv(d / "spk2utt", {"s": "u1"})
    report = validate(d, check_audio=True)
    assert not report.ok
    assert any("differ in length" in p and "u1" in p and "16000" in p and "14400" in p
               for p in report.problems), report.format()
    write_wav(tmp_path / "c.wav", tone(1.0, seed=2))
    assert validate(d, check_audio=True).ok


def test_prepare_leaves_out_a_truncated_wav(tmp_path, capsys, caplog):
    from sebench.cli.main import main
    from sebench.corpora import testing

    root = testing.make_dns_tree(tmp_path / "dns")
    victim = sorted((root / "datasets" / "clean").glob("*.wav"))[0]
    _truncate(victim, 0.6)
    assert main(["prepare", "dns", "--root", str(root), "--out", str(tmp_path / "data")]) == 0
    wav_scp = (tmp_path / "data" / "clean" / "wav.scp").read_text()
    assert str(victim) not in wav_scp and len(wav_scp.splitlines()) == 5
    assert "1 unreadable or truncated" in capsys.readouterr().out
    assert any("truncated" in r.getMessage() for r in caplog.records), caplog.text
