"""Simulation: RIRs, mixing (SNR, level, alignment, clipping), sharding, bad inputs."""
import csv
import os
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from conftest import run_cli, write_wav
from sebench.audio.levels import active_level_db, rms_db
from sebench.data import DataDir
from sebench.simulate.mix import fit_noise, mix
from sebench.simulate.rir import DEFAULTS as RIR_DEFAULTS
from sebench.simulate.rir import draw_room, generate
from test_metrics import speech_like

FS = 16000


@pytest.fixture(scope="module")
def rirs():
    return [generate(draw_room(7, i, RIR_DEFAULTS), RIR_DEFAULTS) for i in range(3)]


def test_rir_rooms_follow_paper_ranges_and_rt60_tolerance(rirs):
    for i, (rir, meta) in enumerate(rirs):
        room = draw_room(7, i, RIR_DEFAULTS)
        assert 3 <= room["dims"][0] <= 10 and 3 <= room["dims"][1] <= 10
        assert 2.5 <= room["dims"][2] <= 3.5 and 0.1 <= room["absorption"] <= 0.3
        dist = np.linalg.norm(np.subtract(room["source"], room["mic"]))
        assert abs(dist - room["distance"]) < 1e-9 and 0.1 <= dist <= 1.0
        # documented tolerance: ISM RT60 lies within -40 %/+60 % of the Sabine target
        assert 0.6 <= meta["rt60"] / meta["rt60_sabine"] <= 1.6, meta
        assert abs(rir[meta["direct_index"]]) == pytest.approx(1.0)   # normalised direct path
        assert np.argmax(np.abs(rir)) == meta["direct_index"]
        assert np.isfinite(meta["drr_db"])
    assert draw_room(7, 1, RIR_DEFAULTS) == draw_room(7, 1, RIR_DEFAULTS)
    assert draw_room(7, 1, RIR_DEFAULTS) != draw_room(8, 1, RIR_DEFAULTS)


@pytest.mark.slow
def test_hybrid_rirs_are_the_same_in_every_process():
    """Ray tracing is stochastic: each RIR seeds it from (seed, index), so two processes (two
    runs, or two jobs of one run) draw the same late tail; another index draws another."""
    import subprocess
    import sys
    code = ("import sys, numpy as np; from sebench.simulate.rir import DEFAULTS, draw_room, "
            "generate; cfg = dict(DEFAULTS, method='hybrid', ray_tracing=dict("
            "DEFAULTS['ray_tracing'], n_rays=500)); room = draw_room(3, 0, cfg); "
            "np.random.seed(int(sys.argv[1])); "   # other use of the global RNG: no effect
            "sys.stdout.write(','.join(f'{v:.9g}' for v in generate(room, cfg)[0][::50]))")
    runs = [subprocess.run([sys.executable, "-c", code, str(k)], capture_output=True, text=True,
                           check=True).stdout for k in (1, 2)]
    assert runs[0] and runs[0] == runs[1]
    cfg = dict(RIR_DEFAULTS, method="hybrid",
               ray_tracing=dict(RIR_DEFAULTS["ray_tracing"], n_rays=500))
    assert draw_room(3, 0, cfg)["ray_seed"] != draw_room(3, 1, cfg)["ray_seed"]


@pytest.mark.parametrize("with_reverb", [False, True])
def test_mix_snr_level_alignment_and_sum(rirs, with_reverb):
    clean = speech_like(3.0, FS, seed=1).astype(np.float64)
    noise = np.random.default_rng(2).standard_normal(clean.size)
    rir, meta = rirs[0]
    for snr, level in ((-5.0, -30.0), (7.3, -22.0), (25.0, -35.0)):
        m = mix(clean, noise, FS, snr, level, rir=rir if with_reverb else None,
                direct_index=meta["direct_index"])
        speech = m.clean_rev if with_reverb else m.clean
        assert not m.clipped_rescaled
        assert abs(active_level_db(speech, FS) - rms_db(m.noise) - snr) <= 0.5
        assert abs(rms_db(m.mixture) - level) <= 0.5
        np.testing.assert_allclose(m.mixture, speech + m.noise, rtol=0, atol=1e-12)
        # the dry target is aligned with the mixture: cross-correlation peaks at lag 0 +- 1
        lags = np.arange(-200, 201)
        xc = [np.dot(m.clean[max(0, -k):len(m.clean) - max(0, k)],
                     m.mixture[max(0, k):len(m.mixture) - max(0, -k)]) for k in lags]
        assert abs(lags[int(np.argmax(xc))]) <= 1
    assert (m.clean_rev is not None) == with_reverb


def test_clipping_is_rescaled_consistently_and_counted():
    clean = speech_like(2.0, FS, seed=3).astype(np.float64)
    noise = np.random.default_rng(4).standard_normal(clean.size)
    m = mix(clean, noise, FS, 0.0, -3.0)   # a -3 dBFS RMS mixture must exceed full scale
    assert m.clipped_rescaled and np.max(np.abs(m.mixture)) <= 0.99 + 1e-12
    np.testing.assert_allclose(m.mixture, m.clean + m.noise, atol=1e-12)
    assert abs(m.snr_db - 0.0) <= 0.5       # rescaling keeps the SNR


def test_dynamic_range_floor_goes_into_the_noise():
    clean = speech_like(1.0, FS, seed=5).astype(np.float64)
    clean[:4000] = 0.0
    noise = np.zeros_like(clean)
    noise[8000:] = np.random.default_rng(0).standard_normal(8000)
    m = mix(clean, noise, FS, 30.0, -25.0, dynamic_range_db=40.0)
    floor = m.noise[:4000]
    assert abs(rms_db(floor) - (20 * np.log10(np.max(np.abs(m.mixture))) - 40)) < 1.5
    np.testing.assert_allclose(m.mixture, m.clean + m.noise, atol=1e-12)


def test_fit_noise_loops_and_crops():
    rng = np.random.default_rng(0)
    short = np.arange(10.0)
    seg, off = fit_noise(short, 25, rng)
    assert len(seg) == 25 and seg[0] == off and np.all(np.diff(seg)[seg[:-1] != 9] == 1)
    seg, off = fit_noise(np.arange(100.0), 25, rng)
    np.testing.assert_array_equal(seg, np.arange(off, off + 25))


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    root = tmp_path_factory.mktemp("src")
    for i in range(4):
        write_wav(root / "clean" / f"spk{i % 2}" / f"spk{i % 2}_u{i}.wav",
                  speech_like(1.5 + 0.25 * i, FS, seed=10 + i))
    for i, kind in enumerate(("white", "hum")):
        n = np.random.default_rng(i).standard_normal(FS * 2) * 0.05
        write_wav(root / "noise" / f"{kind}-{i}.wav", n.astype(np.float32))
    run_cli("rir", "--num", 3, "--out", root / "rirs", "--seed", 1, "--max_order_cap", 12)
    return root


def _simulate(sources, out, *extra):
    return run_cli("simulate", "--clean", sources / "clean", "--noise", sources / "noise",
                   "--rir", sources / "rirs", "--out", out, "--num", 6, "--seed", 3,
                   "--reverb-prob", 0.5, "--subtype", "FLOAT", *extra)


def test_simulate_cli_writes_consistent_data_dir(sources, tmp_path):
    _simulate(sources, tmp_path / "sim")
    d = DataDir(tmp_path / "sim")
    assert set(d.files()) >= {"wav.scp", "clean.scp", "clean_rev.scp", "noise.scp", "utt2spk",
                              "spk2utt", "utt2category", "utt2snr"}
    rows = list(csv.DictReader(open(tmp_path / "sim" / "meta.csv")))
    assert len(rows) == 6 and {r["rir"] != "" for r in rows} == {True, False}
    assert {u: float(v) for u, v in d.read("utt2snr").items()} == \
        {r["utt"]: float(r["snr_db"]) for r in rows}
    for r in rows:
        wav, fs = sf.read(d.read("wav.scp")[r["utt"]])
        rev, _ = sf.read(d.read("clean_rev.scp")[r["utt"]])
        noise, _ = sf.read(d.read("noise.scp")[r["utt"]])
        assert fs == FS and np.max(np.abs(wav)) <= 1.0
        np.testing.assert_allclose(wav, rev + noise, atol=1e-6)
        assert abs(active_level_db(rev, FS) - rms_db(noise) - float(r["snr_db"])) <= 0.5
        if r["clipped_rescaled"] == "0":
            assert abs(rms_db(wav) - float(r["level_dbfs"])) <= 0.5
        assert -38 <= float(r["level_dbfs"]) <= -18 and -5 <= float(r["snr_db"]) <= 20
    assert run_cli("data", "validate", tmp_path / "sim").returncode == 0


def test_sharded_simulation_equals_single_job(sources, tmp_path):
    _simulate(sources, tmp_path / "one")
    _simulate(sources, tmp_path / "two", "--nj", 2)
    one, two = DataDir(tmp_path / "one"), DataDir(tmp_path / "two")
    assert one.keys == two.keys
    for scp in ("wav.scp", "clean.scp", "noise.scp"):
        for key, path in one.read(scp).items():
            assert open(path, "rb").read() == open(two.read(scp)[key], "rb").read()


def test_sharded_rirs_equal_single_job(sources, tmp_path):
    run_cli("rir", "--num", 3, "--out", tmp_path / "r2", "--seed", 1, "--max_order_cap", 12,
            "--nj", 2)
    for name in ("rir000000", "rir000001", "rir000002"):
        a = (sources / "rirs" / "wav" / f"{name}.wav").read_bytes()
        assert a == (tmp_path / "r2" / "wav" / f"{name}.wav").read_bytes()
    meta = list(csv.DictReader(open(tmp_path / "r2" / "rir_meta.csv")))
    assert [m["id"] for m in meta] == ["rir000000", "rir000001", "rir000002"]
    assert all(m["generator"].startswith("pyroomacoustics") for m in meta)


def test_unpaired_writes_only_mixtures(sources, tmp_path):
    run_cli("simulate", "--clean", sources / "clean", "--noise", sources / "noise",
            "--rir", sources / "rirs", "--out", tmp_path / "real", "--unpaired", "--seed", 2,
            "--noise_include", "hum")
    d = DataDir(tmp_path / "real")
    assert d.has("wav.scp") and not d.has("clean.scp") and not d.has("noise.scp")
    rows = list(csv.DictReader(open(tmp_path / "real" / "meta.csv")))
    assert all("hum" in r["noise"] for r in rows)
    assert all(r["channel_effects"].startswith("hp") for r in rows)


def test_bad_inputs_give_clear_errors(sources, tmp_path):
    bad = tmp_path / "bad"
    write_wav(bad / "silent" / "s_u1.wav", np.zeros(FS, np.float32))
    p = run_cli("simulate", "--clean", bad / "silent", "--noise", sources / "noise",
                "--out", tmp_path / "o1", check=False)
    assert p.returncode == 1 and "s_u1.wav" in p.stderr and "silence" in p.stderr
    p = run_cli("simulate", "--clean", tmp_path / "missing", "--noise", sources / "noise",
                "--out", tmp_path / "o2", check=False)
    assert p.returncode == 1 and "missing" in p.stderr and "not found" in p.stderr
    stereo = np.stack([speech_like(1.0, FS, 1), speech_like(1.0, FS, 2)], axis=1)
    write_wav(bad / "stereo" / "st_u1.wav", stereo)
    p = run_cli("simulate", "--clean", bad / "stereo", "--noise", sources / "noise",
                "--out", tmp_path / "o3", check=False)
    assert p.returncode == 1 and "st_u1.wav" in p.stderr and "2 channels" in p.stderr
    run_cli("simulate", "--clean", bad / "stereo", "--noise", sources / "noise",
            "--out", tmp_path / "o4", "--channel", "mean")
    # other rates are resampled (documented); the output is at the configured rate
    write_wav(bad / "r8k" / "r_u1.wav", speech_like(1.0, 8000, 3), fs=8000)
    run_cli("simulate", "--clean", bad / "r8k", "--noise", sources / "noise", "--out",
            tmp_path / "o5")
    assert sf.info(DataDir(tmp_path / "o5").read("wav.scp")["r_u1-000000"]).samplerate == FS
    # noise shorter than speech is looped, or refused with noise_loop off
    write_wav(bad / "shortnoise" / "n.wav", np.random.default_rng(0).standard_normal(800) * .1)
    run_cli("simulate", "--clean", sources / "clean", "--noise", bad / "shortnoise",
            "--out", tmp_path / "o6")
    p = run_cli("simulate", "--clean", sources / "clean", "--noise", bad / "shortnoise",
                "--out", tmp_path / "o7", "--noise_loop", "false", check=False)
    assert p.returncode == 1 and "n.wav" in p.stderr and "shorter" in p.stderr
    # on_error=skip keeps going and lists what it skipped
    write_wav(bad / "mixed" / "a_u1.wav", speech_like(1.0, FS, 4))
    write_wav(bad / "mixed" / "b_u1.wav", np.zeros(FS, np.float32))
    run_cli("simulate", "--clean", bad / "mixed", "--noise", sources / "noise",
            "--out", tmp_path / "o8", "--on_error", "skip")
    assert DataDir(tmp_path / "o8").keys == ["a_u1-000000"]
    assert "b_u1.wav" in (tmp_path / "o8" / "skipped.txt").read_text()


# -- an aborted run leaves nothing that looks complete; --on_error skip ------------------------

def _mixed_sources(root):
    """Four clean files; the second (item 1 in key order) is digital silence."""
    for name, seed in (("a_u1", 4), ("b_u1", None), ("c_u1", 5), ("d_u1", 6)):
        audio = np.zeros(FS, np.float32) if seed is None else speech_like(1.0, FS, seed)
        write_wav(root / "clean" / f"{name}.wav", audio)
    return root / "clean"


@pytest.mark.parametrize("nj", [1, 2])
def test_failed_run_keeps_nothing_that_looks_complete(sources, tmp_path, nj):
    clean = _mixed_sources(tmp_path / "src")
    out = tmp_path / "out"
    _simulate(sources, out)                    # a finished earlier run in the same folder
    assert (out / "wav.scp").exists()
    p = run_cli("simulate", "--clean", clean, "--noise", sources / "noise", "--out", out,
                "--nj", nj, check=False)
    assert p.returncode == 1
    last = p.stderr.strip().splitlines()[-1]
    assert "--on_error skip" in last and "removed" in last and str(out) in last
    assert "b_u1.wav" in p.stderr and "silence" in p.stderr   # the job's own line (tail if nj 2)
    if nj == 1:
        assert "b_u1.wav" in last
    left = {f.name for f in out.iterdir()}
    assert not left & {"wav.scp", "clean.scp", "noise.scp", "utt2spk", "meta.csv"}, left
    for kind in ("wav", "clean", "noise"):     # this run's audio is gone
        assert not list((out / kind).glob("[abcd]_u1-*.wav")) if (out / kind).exists() else True
    assert run_cli("data", "validate", out, check=False).returncode != 0
    # --on_error skip: the same sources give a data dir without the unusable item
    run_cli("simulate", "--clean", clean, "--noise", sources / "noise", "--out", out,
            "--nj", nj, "--on_error", "skip")
    assert DataDir(out).keys == ["a_u1-000000", "c_u1-000002", "d_u1-000003"]
    assert "b_u1.wav" in (out / "skipped.txt").read_text()


def test_help_names_on_error():
    text = run_cli("simulate", "--help").stdout
    assert "--on_error {fail,skip}" in text and "skipped.txt" in text


# -- the speed-ups keep every byte -------------------------------------------------------------

def _in_process_simulator(root, out, **cfg):
    from sebench.data.sources import audio_map, speaker_map
    from sebench.simulate.simulate import DEFAULTS, Simulator, Sources
    cfg = dict(DEFAULTS, **cfg)
    clean = audio_map(str(root / "clean"), "clean")
    return Simulator(cfg, Sources(clean, speaker_map(str(root / "clean"), clean),
                                  audio_map(str(root / "noise"), "noise"), cfg=cfg), str(out))


@pytest.fixture(scope="module")
def long_sources(tmp_path_factory):
    """Clean files of 2-6 s and noise files of 20 s (the reading shortcuts apply)."""
    root = tmp_path_factory.mktemp("long")
    for i in range(3):
        write_wav(root / "clean" / f"s{i}_u{i}.wav", speech_like(2.0 + 2 * i, FS, seed=20 + i))
    rng = np.random.default_rng(3)
    for i in range(2):
        write_wav(root / "noise" / f"n{i}.wav", (rng.standard_normal(20 * FS) * 0.05)
                  .astype(np.float32))
    return root


@pytest.mark.parametrize("segment", [None, 3.0])
def test_segment_reads_equal_whole_file_reads(long_sources, tmp_path, monkeypatch, segment):
    """Reading only the noise segment (and the clean crop) gives the same items, the same
    random stream, and reads fewer samples."""
    import sebench.simulate.simulate as simulate_module
    reads = []
    real_read = simulate_module.read

    def counting_read(path, *a, **kw):
        audio, rate = real_read(path, *a, **kw)
        reads.append((os.path.basename(str(path)), len(audio)))
        return audio, rate

    monkeypatch.setattr(simulate_module, "read", counting_read)
    fast = _in_process_simulator(long_sources, tmp_path / "fast", num=6, seed=4, segment=segment)
    whole = _in_process_simulator(long_sources, tmp_path / "whole", num=6, seed=4,
                                  segment=segment)
    whole._frames = lambda path, cache: None          # the read-everything path
    for i in range(6):
        reads.clear()
        a = fast.make(i)
        fast_noise_reads = [n for name, n in reads if name.startswith("n")]
        b = whole.make(i)
        for key in ("wav", "clean_path", "noise_path"):
            assert open(a[key], "rb").read() == open(b[key], "rb").read()
        strip = ("wav", "clean_path", "noise_path")
        assert {k: v for k, v in a.items() if k not in strip} == \
            {k: v for k, v in b.items() if k not in strip}
        assert fast_noise_reads == [a["num_samples"]]   # only the segment, not 20 s


def test_no_reverb_simulation_does_not_import_scipy_signal(long_sources, tmp_path):
    code = f"""
import sys
from sebench.data.sources import audio_map
from sebench.simulate.simulate import DEFAULTS, Simulator, Sources
cfg = dict(DEFAULTS, num=2, seed=1)
clean = audio_map({str(long_sources / "clean")!r}, "clean")
src = Sources(clean, {{k: k for k in clean}}, audio_map({str(long_sources / "noise")!r}, "noise"))
sim = Simulator(cfg, src, {str(tmp_path)!r})
[sim.make(i) for i in range(2)]
print(sorted(m for m in ("scipy.signal", "scipy.ndimage") if m in sys.modules))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"    # ~1 s of start-up each, not needed without reverb


def test_pinned_output_bytes(long_sources, tmp_path):
    """The bytes of a small set, recorded from the implementation before the speed-ups
    (whole-file reads, scipy P.56 measured twice, libsndfile's float encoding)."""
    import hashlib
    sim = _in_process_simulator(long_sources, tmp_path, num=5, seed=9, segment=2.5,
                                level_mode="speech_active", level_range=[-30.0, -20.0])
    digest = hashlib.sha256()
    for i in range(5):
        row = sim.make(i)
        for key in ("wav", "clean_path", "noise_path"):
            digest.update(open(row[key], "rb").read())
        digest.update(f"{row['snr_measured']} {row['level_measured']}".encode())
    assert digest.hexdigest()[:16] == PINNED_DIGEST


PINNED_DIGEST = "302729bc72203027"   # from the code before the speed-ups; unchanged since


# -- P.56 and the PCM encoder against the library code they replace ------------------------------

def _p56_with_scipy(x, fs):
    """P.56 as implemented before: scipy's lfilter, maximum_filter1d and searchsorted."""
    from scipy.ndimage import maximum_filter1d
    from scipy.signal import lfilter
    from sebench.audio.levels import _interpolate_level
    x = np.asarray(x, dtype=np.float64)
    energy = float(np.sum(x ** 2))
    g = np.exp(-1.0 / (fs * 0.03))
    q = lfilter([1.0 - g], [1.0, -g], lfilter([1.0 - g], [1.0, -g], np.abs(x)))
    size = int(np.ceil(fs * 0.2)) + 1
    running = maximum_filter1d(q, size=size, origin=(size - 1) // 2, mode="constant", cval=0.0)
    thresholds = 2.0 ** np.arange(-15, 1)
    above = np.bincount(np.searchsorted(thresholds, running, side="right"), minlength=17)
    counts = np.cumsum(above[::-1])[::-1][1:].astype(float)
    return _interpolate_level(counts, energy, x.size, 15.9, 20 * np.log10(thresholds))


def test_active_level_equals_the_scipy_computation():
    from scipy.ndimage import maximum_filter1d
    from scipy.signal import lfilter
    from sebench.audio.levels import ActiveLevel, smooth_one_pole, trailing_max
    rng = np.random.default_rng(0)
    for i, fs in enumerate((8000, 16000, 48000) * 4):
        x = speech_like(0.5 + i * 0.4, fs, seed=i).astype(np.float64) * 10 ** rng.uniform(-3, 0)
        x[: rng.integers(0, x.size // 2)] = 0.0           # leading digital silence
        assert active_level_db(x, fs) == _p56_with_scipy(x, fs)
        g = np.exp(-1.0 / (fs * 0.03))
        np.testing.assert_allclose(smooth_one_pole(np.abs(x), g),
                                   lfilter([1.0 - g], [1.0, -g], np.abs(x)), rtol=1e-12, atol=0)
        q = np.abs(x)
        size = int(rng.integers(1, 4000))
        assert np.array_equal(trailing_max(q, size), maximum_filter1d(
            q, size=size, origin=(size - 1) // 2, mode="constant", cval=0.0))
        gain = 10 ** rng.uniform(-1, 1)        # the scaled-envelope shortcut: a fresh measure
        assert ActiveLevel(x, fs).db(gain) == pytest.approx(active_level_db(x * gain, fs),
                                                            abs=1e-9)


def test_pcm16_encoding_equals_libsndfile(tmp_path):
    import io
    from sebench.audio.io import write
    rng = np.random.default_rng(1)
    x = np.concatenate([rng.uniform(-1, 1, 20000), rng.standard_normal(20000) * 1e-4,
                        (rng.integers(-32768, 32768, 5000) + 0.5) / 32768,
                        [1.0, -1.0, 0.0, 0.99999, -0.99999]]).astype(np.float32)
    for channels in (1, 2):
        audio = x if channels == 1 else x[:len(x) // 2 * 2].reshape(-1, 2)
        write(tmp_path / "ours.wav", audio, FS, sync=False)
        ref = io.BytesIO()
        sf.write(ref, audio, FS, subtype="PCM_16", format="WAV")   # libsndfile converts
        assert (tmp_path / "ours.wav").read_bytes() == ref.getvalue()


def test_noise_labels_write_one_label_file_per_named_group(sources, tmp_path):
    # paper 003's Table 2: a city per mixture from its noise file's name (breakdown: [[city]])
    run_cli("simulate", "--clean", sources / "clean", "--noise", sources / "noise",
            "--out", tmp_path / "lab", "--num", 6, "--seed", 3, "--snrs", "5,10",
            "--noise_labels", "^(?P<kind>white|hum)-(?P<take>[0-9])")
    d = DataDir(tmp_path / "lab")
    rows = {r["utt"]: r for r in csv.DictReader(open(tmp_path / "lab" / "meta.csv"))}
    kinds, takes = d.read("utt2kind"), d.read("utt2take")
    assert set(kinds) == set(rows) and len(set(kinds.values())) >= 1
    for utt, row in rows.items():
        name = os.path.basename(row["noise"])
        assert name.startswith(kinds[utt] + "-" + takes[utt]), (utt, name)
    assert set(d.read("utt2snr").values()) <= {"5", "10"}
    p = run_cli("simulate", "--clean", sources / "clean", "--noise", sources / "noise",
                "--out", tmp_path / "bad", "--num", 2, "--noise_labels", "^(?P<kind>white)-",
                check=False)
    assert p.returncode == 1 and "hum-1" in p.stderr and "noise_labels" in p.stderr
    p = run_cli("simulate", "--clean", sources / "clean", "--noise", sources / "noise",
                "--out", tmp_path / "bad2", "--num", 2, "--noise_labels", "^(white|hum)",
                check=False)
    assert p.returncode == 1 and "named group" in p.stderr
