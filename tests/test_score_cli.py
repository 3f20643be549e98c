import csv
import json

import numpy as np
import pytest
import soundfile as sf

import loizou_reference
from conftest import run_cli, write_wav
from sebench.data import DataDir
from test_metrics import add_noise, speech_like


@pytest.fixture
def test_set(tmp_path):
    """6 clean/noisy pairs and 'enhanced' files (a milder noise), plus the robustness cases."""
    clean, noisy, enh = {}, {}, {}
    for i in range(6):
        key = f"u{i}"
        x = speech_like(1.5, seed=i)
        clean[key] = str(write_wav(tmp_path / "clean" / f"{key}.wav", x))
        noisy[key] = str(write_wav(tmp_path / "noisy" / f"{key}.wav", add_noise(x, 5, seed=i)))
        enh[key] = str(write_wav(tmp_path / "enh" / f"{key}.wav", add_noise(x, 15, seed=i)))
    d = DataDir(tmp_path / "data")
    d.write("wav.scp", noisy)
    d.write("clean.scp", clean)
    return tmp_path, d


def read_scores(out):
    with open(out / "scores.csv") as f:
        return {r["key"]: r for r in csv.DictReader(f)}


@pytest.mark.slow
def test_score_with_noisy_delta_and_outputs(test_set, tmp_path):
    root, d = test_set
    env_cache = tmp_path / "cache"
    out = tmp_path / "s"
    proc = run_cli("score", "--enh", root / "enh", "--ref", d.path, "--noisy", d.path,
                   "--metrics", "pesq_wb,stoi,sisdr", "--out", out, "--cache_dir", env_cache)
    rows = read_scores(out)
    assert len(rows) == 6 and all(r["error"] == "" for r in rows.values())
    summary = json.loads((out / "summary.json").read_text())
    for m in ("pesq_wb", "stoi", "sisdr"):
        e = summary["metrics"][m]
        assert e["count"] == 6 and e["delta"]["mean"] > 0, m
    assert summary["metrics"]["sisdr"]["delta"]["mean"] == pytest.approx(10, abs=1.5)
    assert (out / "utt2pesq_wb").read_text().count("\n") == 6
    assert "| pesq_wb |" in (out / "RESULTS.md").read_text() and "Δ" in proc.stdout
    assert "git" in (out / "config.yaml").read_text()
    assert len(list(env_cache.rglob("*.json"))) == 6  # noisy scored once, cached by content
    before = {p: p.stat().st_mtime for p in env_cache.rglob("*.json")}
    run_cli("score", "--enh", root / "noisy", "--ref", d.path, "--noisy", d.path,
            "--metrics", "pesq_wb,stoi,sisdr", "--out", tmp_path / "s2", "--cache_dir", env_cache)
    assert {p: p.stat().st_mtime for p in env_cache.rglob("*.json")} == before


@pytest.mark.slow
def test_sharded_equals_unsharded(test_set, tmp_path):
    root, d = test_set
    run_cli("score", "--enh", root / "enh", "--ref", d.path, "--metrics", "stoi,sisdr,csig",
            "--out", tmp_path / "one")
    run_cli("score", "--enh", root / "enh", "--ref", d.path, "--metrics", "stoi,sisdr,csig",
            "--out", tmp_path / "two", "--nj", "2", "--cmd", "run.pl")
    assert (tmp_path / "one/scores.csv").read_text() == (tmp_path / "two/scores.csv").read_text()
    assert (tmp_path / "two/log/score.2.log").exists()


def test_robustness_cases_become_nan_with_reasons(test_set, tmp_path):
    root, d = test_set
    bad = root / "bad"
    x = speech_like(1.5, seed=0)
    write_wav(bad / "u0.wav", np.zeros_like(x))                             # silent
    write_wav(bad / "u1.wav", x[:2000])                                     # far too short
    nan = x.copy()
    nan[100] = np.nan
    write_wav(bad / "u2.wav", nan, subtype="FLOAT")                         # non-finite
    write_wav(bad / "u3.wav", x[::2], fs=8000)                              # other rate
    write_wav(bad / "u4.wav", np.stack([x, x], axis=1))                     # stereo
    (bad / "u5.wav").write_bytes(b"garbage")                                # unreadable
    write_wav(bad / "u6.wav", x[:-400])                                     # slightly short
    clean6 = write_wav(root / "clean" / "u6.wav", x)
    ref = dict(DataDir(d.path).read("clean.scp"), u6=str(clean6))
    DataDir(d.path).write("clean.scp", ref)
    DataDir(d.path).write("wav.scp", dict(DataDir(d.path).read("wav.scp"), u6=str(clean6)))
    proc = run_cli("score", "--enh", bad, "--ref", d.path, "--metrics", "pesq_wb,sisdr",
                   "--out", tmp_path / "r")
    assert proc.returncode == 0
    rows = read_scores(tmp_path / "r")
    assert "estimate is digital silence" in rows["u0"]["error"] and rows["u0"]["pesq_wb"] == "nan"
    assert "length mismatch" in rows["u1"]["error"]
    assert "non-finite" in rows["u2"]["error"]
    assert rows["u3"]["error"] == "" and "resampled the estimate from 8000 Hz" in rows["u3"]["warning"]
    assert "has 2 channels; choose one with --channel" in rows["u4"]["error"]
    assert "unreadable audio" in rows["u5"]["error"]
    assert rows["u6"]["error"] == "" and "trimmed 400 samples" in rows["u6"]["warning"]
    assert float(rows["u6"]["sisdr"]) > 30
    summary = json.loads((tmp_path / "r/summary.json").read_text())
    assert summary["metrics"]["pesq_wb"]["failures"] == 5 and summary["warnings"] == 2
    stereo = run_cli("score", "--enh", bad, "--ref", d.path, "--metrics", "sisdr", "--channel",
                     "1", "--out", tmp_path / "c")
    assert read_scores(tmp_path / "c")["u4"]["error"] == ""
    assert stereo.returncode == 0
    # every utterance failing is an error exit
    allbad = root / "allbad"
    write_wav(allbad / "u0.wav", np.zeros_like(x))
    proc = run_cli("score", "--enh", allbad, "--ref", d.path, "--metrics", "pesq_wb",
                   "--out", tmp_path / "z", check=False)
    assert proc.returncode == 1 and "every utterance failed" in proc.stderr


FAILING_RUNNER = """#!/usr/bin/env python3
# a run.pl stand-in whose job 2 dies before writing anything (a killed or crashed job)
import os, subprocess, sys
spec, log, *command = sys.argv[1:]
first, last = map(int, spec.split("=")[1].split(":"))
status = 0
for job in range(first, last + 1):
    path = log.replace("JOB", str(job))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        if job == 2:
            f.write("Killed\\n")
            status = 1
            continue
        argv = [word.replace("JOB", str(job)) for word in command]
        status |= subprocess.run(argv, stdout=f, stderr=subprocess.STDOUT).returncode
sys.exit(status)
"""


def test_a_failed_job_loses_only_its_own_utterances(test_set, tmp_path):
    root, d = test_set
    runner = tmp_path / "failing.pl"
    runner.write_text(FAILING_RUNNER)
    runner.chmod(0o755)
    out = tmp_path / "s"
    proc = run_cli("score", "--enh", root / "enh", "--ref", d.path, "--metrics", "sisdr",
                   "--out", out, "--nj", "2", "--cmd", runner, check=False)
    assert proc.returncode == 1
    assert "NaN for the utterances of job(s) 2" in proc.stderr and "Traceback" not in proc.stderr
    rows = read_scores(out)
    lost = set((out / "split2" / "keys.2").read_text().split())
    assert set(rows) == {f"u{i}" for i in range(6)} and 0 < len(lost) < 6
    for key, row in rows.items():
        if key in lost:
            assert row["sisdr"] == "nan" and "scoring job 2 failed (see log/score.2.log)" in \
                row["error"]
        else:
            assert float(row["sisdr"]) > 10 and row["error"] == ""


@pytest.mark.slow
def test_nonintrusive_dnsmos_without_reference(test_set, tmp_path):
    root, _ = test_set
    run_cli("score", "--enh", root / "noisy", "--metrics", "nonintrusive,sisdr", "--out",
            tmp_path / "n", "--keys", _keys(tmp_path, ["u0", "u1"]))
    rows = read_scores(tmp_path / "n")
    assert set(rows) == {"u0", "u1"}
    assert 1 < float(rows["u0"]["dnsmos_ovrl"]) < 5
    assert 0 < float(rows["u0"]["srmr"]) < 20
    assert "sisdr: needs a reference" in rows["u0"]["error"]
    assert "sig_bak_ovr.onnx sha256 269fbebdb513" in (tmp_path / "n/RESULTS.md").read_text()


def _keys(tmp_path, keys):
    path = tmp_path / "keys.txt"
    path.write_text("".join(k + "\n" for k in keys))
    return path


@pytest.mark.slow
def test_score_stats_accuracy_and_wilcoxon(tmp_path):
    from scipy.stats import pearsonr, spearmanr, wilcoxon
    rng = np.random.default_rng(0)
    true = rng.uniform(1, 5, 50)
    pred = true + rng.normal(0, 0.3, 50)
    DataDir(tmp_path).write("utt2true", {f"k{i:02d}": t for i, t in enumerate(true)})
    DataDir(tmp_path).write("utt2pred", {f"k{i:02d}": p for i, p in enumerate(pred)})
    out = run_cli("score-stats", "accuracy", "--pred", tmp_path / "utt2pred", "--true",
                  tmp_path / "utt2true", "--plot", tmp_path / "scatter.png").stdout
    result = json.loads(out)
    assert result["lcc"] == pytest.approx(pearsonr(pred, true)[0], abs=1e-6)
    assert result["srcc"] == pytest.approx(spearmanr(pred, true)[0], abs=1e-6)
    assert result["mse"] == pytest.approx(np.mean((pred - true) ** 2), abs=1e-6)
    assert (tmp_path / "scatter.png").stat().st_size > 1000
    a, b = tmp_path / "a", tmp_path / "b"
    DataDir(a).write("utt2sisdr", {f"k{i:02d}": v for i, v in enumerate(true + 1)})
    DataDir(b).write("utt2sisdr", {f"k{i:02d}": v for i, v in enumerate(pred)})
    out = run_cli("score-stats", "wilcoxon", a, b, "--metrics", "sisdr").stdout
    p = wilcoxon(true + 1, pred).pvalue
    assert f"{p:.2e}" in out


def test_shards_balance_estimated_cost(tmp_path):
    from sebench.jobs.shards import balanced_shards
    from sebench.metrics.dnsmos import DNSMOS
    from sebench.scoring.run import estimated_cost

    weights = [9.0, 1.0, 1.0, 1.0, 4.0, 4.0, 2.0, 2.0, 3.0, 3.0]
    groups = balanced_shards(weights, 3)
    assert sorted(i for g in groups for i in g) == list(range(len(weights)))
    assert all(g == sorted(g) for g in groups)
    loads = [sum(weights[i] for i in g) for g in groups]
    assert max(loads) - min(loads) <= 1.0          # 30 split 10/10/10 up to one small item
    # DNSMOS cost counts the windows scored: a 2 s clip is tiled to 16 s (7 windows),
    # a 5.5 s clip to 11 s (2), a 10 s clip needs 1
    assert DNSMOS.num_windows(2 * 16000) == 7
    assert DNSMOS.num_windows(int(5.5 * 16000)) == 2
    assert DNSMOS.num_windows(10 * 16000) == 1
    assert DNSMOS.num_windows(2 * 16000, "first_window") == 1
    short = write_wav(tmp_path / "short.wav", speech_like(2.0))
    longer = write_wav(tmp_path / "longer.wav", speech_like(5.0))
    assert estimated_cost(short, ["dnsmos"]) > estimated_cost(longer, ["dnsmos"])
    assert estimated_cost(short, ["pesq_wb", "srmr"]) < estimated_cost(longer, ["pesq_wb", "srmr"])
    assert estimated_cost(tmp_path / "missing.wav", ["pesq_wb"]) == 0.0


@pytest.mark.timeout(300)
def test_mixed_rates_are_resampled_or_refused(test_set, tmp_path):
    """A 24 kHz estimate against 16 kHz references is resampled (soxr) with a warning and
    scores as its 16 kHz original; --on-rate-mismatch error refuses it instead."""
    from sebench.audio.resample import resample
    root, d = test_set
    mixed = root / "mixed"
    enh16, _ = sf.read(root / "enh" / "u0.wav", dtype="float32")
    write_wav(mixed / "u0.wav", resample(enh16, 16000, 24000), fs=24000, subtype="FLOAT")
    write_wav(mixed / "u1.wav", sf.read(root / "enh" / "u1.wav", dtype="float32")[0])
    keys = _keys(tmp_path, ["u0", "u1"])
    run_cli("score", "--enh", root / "enh", "--ref", d.path, "--metrics", "pesq_wb,sisdr",
            "--out", tmp_path / "native", "--keys", keys)
    run_cli("score", "--enh", mixed, "--ref", d.path, "--metrics", "pesq_wb,sisdr",
            "--out", tmp_path / "m", "--keys", keys)
    native, rows = read_scores(tmp_path / "native"), read_scores(tmp_path / "m")
    assert rows["u0"]["error"] == ""
    assert rows["u0"]["warning"] == "resampled the estimate from 24000 Hz to the reference's " \
                                    "16000 Hz"
    assert float(rows["u0"]["pesq_wb"]) == pytest.approx(float(native["u0"]["pesq_wb"]), abs=0.02)
    # (the 16->24->16 kHz round trip's anti-alias filters drop the white noise near 8 kHz)
    assert float(rows["u0"]["sisdr"]) == pytest.approx(float(native["u0"]["sisdr"]), abs=0.5)
    assert rows["u1"] == native["u1"]
    summary = json.loads((tmp_path / "m" / "summary.json").read_text())
    assert summary["warnings"] == 1 and summary["conventions"]["on_rate_mismatch"] == "resample"
    run_cli("score", "--enh", mixed, "--ref", d.path, "--metrics", "pesq_wb,sisdr",
            "--out", tmp_path / "e", "--keys", keys, "--on-rate-mismatch", "error")
    refused = read_scores(tmp_path / "e")
    assert refused["u0"]["error"] == "rate mismatch: estimate 24000 Hz, reference 16000 Hz"
    assert refused["u0"]["pesq_wb"] == "nan" and refused["u1"] == native["u1"]
    bad = run_cli("score", "--enh", mixed, "--ref", d.path, "--out", tmp_path / "x",
                  "--on-rate-mismatch", "drop", check=False)
    assert bad.returncode != 0 and "on_rate_mismatch must be one of resample, error; got " \
                                   "'drop'" in bad.stderr


@pytest.mark.timeout(300)
@pytest.mark.slow
def test_a_file_too_long_for_pesq_costs_only_itself(test_set, tmp_path):
    """A 3-minute pair among short ones (the pesq package segfaults on it unguarded): NaN
    with the reason for PESQ and the composite measures, every other score is written."""
    root, d = test_set
    x = speech_like(180.0, seed=7)
    write_wav(root / "clean" / "long.wav", x)
    write_wav(root / "enh" / "long.wav", add_noise(x, 15, seed=7))
    DataDir(d.path).write("clean.scp", dict(DataDir(d.path).read("clean.scp"),
                                            long=str(root / "clean" / "long.wav")))
    keys = _keys(tmp_path, ["u0", "long", "u1"])
    run_cli("score", "--enh", root / "enh", "--ref", d.path, "--metrics", "pesq_wb,sisdr,csig",
            "--out", tmp_path / "s", "--keys", keys)
    rows = read_scores(tmp_path / "s")
    assert set(rows) == {"u0", "long", "u1"}
    long = rows["long"]
    assert long["pesq_wb"] == "nan" and long["csig"] == "nan" and float(long["sisdr"]) > 10
    for unit in ("pesq_wb", "composite"):
        assert f"{unit}: too long for PESQ (180.0 s: " in long["error"]
    assert "speech segments > the 50 its ITU code holds" in long["error"]
    for key in ("u0", "u1"):
        assert rows[key]["error"] == "" and 1 < float(rows[key]["pesq_wb"]) < 4.7


@pytest.mark.timeout(600)
@pytest.mark.slow
def test_composite_on_vbd_equals_the_wideband_definition(shared_data, tmp_path):
    """`sebench score` CSIG/CBAK/COVL on the VoiceBank-DEMAND pairs equal composite.m's
    regressions on the P.862.2 wideband score (the published convention), written out in
    tests/loizou_reference.py."""
    from pesq import pesq
    vbd = shared_data / "vbd_test_subset"
    out = tmp_path / "vbd"
    run_cli("score", "--enh", vbd / "noisy", "--ref", vbd / "clean", "--metrics",
            "csig,cbak,covl", "--out", out, "--nj", "2")
    rows = read_scores(out)
    paired = sorted(p.stem for p in (vbd / "clean").glob("*.wav") if (vbd / "noisy" / p.name).exists())
    assert sorted(rows) == paired and len(paired) == 24
    for key in paired:
        clean, fs = sf.read(vbd / "clean" / f"{key}.wav")
        noisy, _ = sf.read(vbd / "noisy" / f"{key}.wav")
        oracle = loizou_reference.composite(clean, noisy, fs, pesq(fs, clean, noisy, "wb"))
        for col in ("csig", "cbak", "covl"):
            assert float(rows[key][col]) == pytest.approx(oracle[col], abs=6e-6), (key, col)  # %.6g
    summary = json.loads((out / "summary.json").read_text())
    assert summary["conventions"]["composite_pesq"] == "wb"
    assert "composite_pesq: wb (P.862.2 MOS-LQO at 16 kHz" in (out / "RESULTS.md").read_text()
