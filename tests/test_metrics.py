import csv

import numpy as np
from scipy.signal import fftconvolve
import pytest
import soundfile as sf

import loizou_reference
from sebench.metrics import composite, expand, intrusive, pesq_guard
from sebench.metrics.intrusive import MetricError


def speech_like(seconds=3.0, fs=16000, seed=0):
    """Harmonic, amplitude-modulated 'speech' with pauses: enough structure for PESQ/STOI."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * fs)) / fs
    f0 = 120 + 20 * np.sin(2 * np.pi * 0.5 * t)
    phase = 2 * np.pi * np.cumsum(f0) / fs
    x = sum(np.sin(k * phase) / k for k in range(1, 20))
    envelope = np.clip(np.sin(2 * np.pi * 2.0 * t), 0, None) ** 0.5
    return (0.1 * x * envelope + 1e-4 * rng.standard_normal(t.size)).astype(np.float32)


def add_noise(x, snr_db, seed=1):
    n = np.random.default_rng(seed).standard_normal(x.size)
    n *= np.sqrt(np.mean(x ** 2) / np.mean(n ** 2) / 10 ** (snr_db / 10))
    return (x + n).astype(np.float32)


@pytest.mark.slow
def test_pesq_conformance_voip_8k(shared_data):
    conf = shared_data / "pesq_conformance"
    rows = list(csv.DictReader(open(conf / "pairs_voip_8k.csv")))
    assert len(rows) == 40
    for row in rows:
        ref, fs = sf.read(conf / row["reference"])
        deg, _ = sf.read(conf / row["degraded"])
        raw = intrusive.pesq_raw_nb(ref, deg, fs)
        assert raw == pytest.approx(float(row["expected_raw_pesq_p862"]), abs=1e-3), row


def test_pesq_documented_speech_babble(shared_data):
    d = shared_data / "pesq_conformance" / "speech_babble_16k"
    ref, fs = sf.read(d / "speech.wav")
    deg, _ = sf.read(d / "speech_bab_0dB.wav")
    assert intrusive.pesq_wb(ref, deg, fs) == pytest.approx(1.0832337, abs=1e-6)
    assert intrusive.pesq_nb(ref, deg, fs) == pytest.approx(1.6072081, abs=1e-6)


def test_identical_inputs_score_maximal():
    x = speech_like()
    assert intrusive.pesq_wb(x, x, 16000) > 4.5
    assert intrusive.stoi(x, x, 16000) > 0.999
    assert intrusive.si_sdr(x, x) > 100
    c = composite.composite(x, x, 16000)
    assert c["csig"] == 5 and c["covl"] == 5 and c["llr"] == pytest.approx(0, abs=1e-6)


def test_sisdr_scale_invariant_and_snr_not():
    x = speech_like()
    y = add_noise(x, 10)
    assert intrusive.si_sdr(x, y) == pytest.approx(intrusive.si_sdr(x, 0.3 * y), abs=1e-6)
    assert intrusive.si_sdr(x, y) == pytest.approx(10, abs=0.5)
    assert intrusive.snr(x, 0.3 * y) < intrusive.snr(x, y)


def test_composite_and_pesq_fall_with_noise():
    x = speech_like()
    scores = [composite.composite(x, add_noise(x, snr), 16000) for snr in (40, 30, 20)]
    for key in ("csig", "cbak", "covl", "segsnr"):
        values = [s[key] for s in scores]
        assert values[0] > values[1] > values[2], (key, values)
    assert scores[0]["wss"] < scores[2]["wss"] and scores[0]["llr"] < scores[2]["llr"]


def test_wss_local_peak_is_composite_m():
    """composite.m keeps clean_energy(n-1) right of a rising band: one band short of the
    peak (here 1 and 2 where the true peaks are 3 and 5)."""
    energy = np.array([0.0, 1.0, 3.0, 2.0, 5.0, 4.0])
    slope = np.diff(energy)
    assert list(composite._local_peaks(energy, slope)) == [1.0, 1.0, 3.0, 2.0, 5.0]
    assert list(loizou_reference.local_peaks(energy, slope)) == [1.0, 1.0, 3.0, 2.0, 5.0]


# composite.m on NOIZEUS sp09 (8 kHz, raw P.862 term), from tests/loizou_reference.py; the
# logMMSE-enhanced sp09 of Loizou's own example is not in ../shared/data, noisy inputs are
NOIZEUS_SP09 = {  # condition: (CSIG, CBAK, COVL, WSS, LLR, segSNR)
    "babble_10dB/sp09_babble_sn10": (3.260661, 2.506224, 2.597272, 37.578541, 0.685839, 2.775196),
    "street_0dB/sp09_street_sn0": (2.458966, 1.815190, 1.925386, 55.559962, 1.043496, -2.775294),
}
COMPOSITE_KEYS = ("csig", "cbak", "covl", "wss", "llr", "segsnr")


def test_composite_matches_composite_m_on_noizeus(shared_data):
    from pesq import pesq
    clean, fs = sf.read(shared_data / "noizeus" / "clean" / "sp09.wav")
    for condition, golden in NOIZEUS_SP09.items():
        noisy, _ = sf.read(shared_data / "noizeus" / "noisy" / f"{condition}.wav")
        raw = loizou_reference.raw_p862(pesq(fs, clean, noisy, "nb"))
        oracle = loizou_reference.composite(clean, noisy, fs, raw)
        assert [oracle[k] for k in COMPOSITE_KEYS] == pytest.approx(golden, abs=1e-5), condition
        ours = composite.composite(clean, noisy, fs)          # wb default: raw P.862 at 8 kHz
        assert ours["pesq"] == pytest.approx(raw, abs=1e-6)
        for key in COMPOSITE_KEYS:
            assert ours[key] == pytest.approx(oracle[key], abs=1e-9), (condition, key)
        assert composite.composite(clean, noisy, fs, pesq_term="raw_nb") == ours


def test_composite_pesq_term_is_wideband_at_16k():
    x = speech_like()
    y = add_noise(x, 10)
    wb = composite.composite(x, y, 16000)
    nb = composite.composite(x, y, 16000, pesq_term="raw_nb")
    assert wb["pesq"] == intrusive.pesq_wb(x, y, 16000)
    assert nb["pesq"] == pytest.approx(intrusive.pesq_raw_nb(x, y, 16000), abs=1e-9)
    assert wb["pesq"] != pytest.approx(nb["pesq"], abs=0.05)
    oracle = loizou_reference.composite(x, y, 16000, wb["pesq"])    # the published convention
    for key in COMPOSITE_KEYS:
        assert wb[key] == pytest.approx(oracle[key], abs=1e-9), key
    with pytest.raises(ValueError, match="raw_nb"):
        composite.composite(x, y, 16000, pesq_term="mos")


def test_pesq_nb_runs_at_8_or_16_khz_as_given():
    from pesq import pesq

    from sebench.audio.resample import resample
    x = speech_like().astype(np.float64)
    y = add_noise(x, 10).astype(np.float64)
    assert intrusive.pesq_nb(x, y, 16000) == pytest.approx(pesq(16000, x, y, "nb"), abs=1e-12)
    x8, y8 = (resample(v, 16000, 8000).astype(np.float64) for v in (x, y))
    assert intrusive.pesq_nb(x8, y8, 8000) == pytest.approx(pesq(8000, x8, y8, "nb"), abs=1e-12)
    assert intrusive.pesq_rate(48000, "nb") == 16000 and intrusive.pesq_rate(11025, "nb") == 8000
    assert intrusive.pesq_rate(8000, "wb") == 16000


def speech_bursts(count, fs=16000, on=0.3, off=0.3):
    """``count`` voiced bursts (varying pitch) between silences: PESQ's utterances."""
    t = np.arange(int(on * fs)) / fs
    taper = np.clip(np.minimum(t, t[-1] - t) / 0.03, 0, 1)
    parts = []
    for i in range(count):
        f0 = 110 + 5 * (i % 7)
        parts += [0.1 * taper * sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, 12)),
                  np.zeros(int(off * fs))]
    x = np.concatenate(parts)
    return x, x + 0.003 * np.random.default_rng(count).standard_normal(x.size)


def test_pesq_refuses_references_beyond_its_utterance_tables():
    """The ITU code holds 50 utterances and overflows its tables beyond: 50 bursts are scored
    exactly as the package scores them, 51 are refused before the C code runs."""
    from pesq import pesq
    x, y = speech_bursts(50)
    assert len(x) > pesq_guard.SAFE_SECONDS * 16000           # the guarded path
    assert pesq_guard.utterance_slots(*pesq_guard.reference_vad(x, y, 16000, "wb")) == (50, 49)
    assert intrusive.pesq_wb(x, y, 16000) == pytest.approx(pesq(16000, x, y, "wb"), abs=1e-12)
    x, y = speech_bursts(51)
    with pytest.raises(MetricError, match=r"too long for PESQ \(30\.6 s: 51 speech segments > "
                                          r"the 50 its ITU code holds\)"):
        intrusive.pesq_wb(x, y, 16000)


def test_isolated_call_returns_raises_and_survives_a_crash():
    import ctypes
    assert pesq_guard.run_isolated(pow, 2, 10) == 1024
    with pytest.raises(ZeroDivisionError):
        pesq_guard.run_isolated(divmod, 1, 0)
    with pytest.raises(RuntimeError, match="crashed \\(SIGSEGV\\)"):
        pesq_guard.run_isolated(ctypes.string_at, 0)        # reads address 0 in the child
    assert pesq_guard.run_isolated(pow, 3, 2) == 9           # and this process carries on


def test_segsnr_clamped():
    x = speech_like(1.0)
    seg = composite.segmental_snr(x.astype(np.float64) + 1e-16, x.astype(np.float64), 16000)
    assert seg.max() <= 35 and composite.segmental_snr(x, -x, 16000).min() >= -10


def test_silent_and_short_inputs_raise_metric_errors():
    x = speech_like(1.0)
    with pytest.raises(MetricError, match="silence"):
        intrusive.pesq_wb(x, np.zeros_like(x), 16000)
    with pytest.raises(MetricError, match="too short"):
        intrusive.pesq_wb(x[:1000], x[:1000], 16000)
    with pytest.raises(MetricError, match="silent"):
        intrusive.si_sdr(np.zeros(100), np.ones(100))


def test_bss_eval_sir_needs_noise():
    x = speech_like(1.0)
    n = add_noise(np.zeros_like(x) + 1e-3 * speech_like(1.0, seed=3), 0) - 1e-3 * speech_like(1.0, seed=3)
    y = x + 0.1 * n
    out = intrusive.bss_eval(x, y)
    assert out["sir"] is None and np.isfinite(out["sdr"])
    with_noise = intrusive.bss_eval(x, y, noise=n)
    assert np.isfinite(with_noise["sir"])


def test_expand_groups_and_unknown():
    metrics, units = expand("csig,cbak,pesq_wb,dnsmos")
    assert units == ["composite", "pesq_wb", "dnsmos"]
    assert expand("nonintrusive")[0] == ["dnsmos", "srmr"]
    from sebench.errors import ConfigError
    with pytest.raises(ConfigError, match="unknown metric 'pesq'"):
        expand("pesq")


@pytest.mark.slow
def test_dnsmos_deterministic_falls_with_noise_and_windows():
    from sebench.metrics.dnsmos import DNSMOS, get_dnsmos
    m = get_dnsmos()
    x = speech_like(4.0)
    clean = m(x, 16000)
    again = m(x, 16000)
    noisy = m(add_noise(x, 0), 16000)
    assert clean == again
    assert noisy["bak"] < clean["bak"] and noisy["ovrl"] < clean["ovrl"]
    assert set(clean) == {"p808", "sig", "bak", "ovrl", "sig_raw", "bak_raw", "ovrl_raw"}
    second = 16000
    # official (dnsmos_local.py): hops counted from whole seconds; 10.99 s -> one window
    assert DNSMOS.windows(160000) == DNSMOS.windows(175800) == [0]
    assert DNSMOS.windows(12 * second) == [0, second, 2 * second]
    # its window ends int((i + 9.01) * 16000) fall one sample short for i = 7..23: dropped
    assert DNSMOS.windows(17 * second) == [i * second for i in range(7)]
    assert DNSMOS.windows(20 * second) == [i * second for i in range(7)]
    assert DNSMOS.windows(40 * second)[7:9] == [24 * second, 25 * second]
    # full: every 1 s hop that fits, nothing dropped
    assert DNSMOS.windows(175800, "full") == [0, second]
    assert DNSMOS.windows(20 * second, "full") == [i * second for i in range(11)]
    with pytest.raises(ValueError, match="official"):
        DNSMOS.windows(20 * second, "every")
    # short clips are doubled: 2.7 s -> 10.8 s (1 official window, 2 full), 3 s -> 12 s (3)
    assert DNSMOS.num_windows(int(2.7 * second)) == 1
    assert DNSMOS.num_windows(int(2.7 * second), windows="full") == 2
    assert DNSMOS.num_windows(3 * second) == 3
    # short clips: the tiled clip's first window only, on request (the training labeller)
    first = m(x, 16000, short_clips="first_window", models=("p808",))
    assert set(first) == {"p808"} and abs(first["p808"] - clean["p808"]) < 0.3
    with pytest.raises(ValueError, match="silence"):
        m(np.zeros(16000, dtype=np.float32))


@pytest.mark.slow
def test_dnsmos_default_equals_the_official_loop():
    """Default DNSMOS against speechmos (the official dnsmos_local.py loop, its ONNX models)
    on clips whose windows differ between the conventions; the noise swells over each clip,
    so every window scores differently and a wrong window set shows."""
    from speechmos import dnsmos as official

    from sebench.metrics.dnsmos import DNSMOS, get_dnsmos
    ours = get_dnsmos()
    for seconds in (3, 9.5, 10, 10.8, 12, 20):
        x = speech_like(seconds, seed=int(seconds * 10)).astype(np.float64)
        swell = np.linspace(0.002, 0.08, x.size) * np.random.default_rng(1).standard_normal(x.size)
        clip = (x + swell) / 2
        ref = official.run(clip, 16000)
        mine = ours(clip.astype(np.float32), 16000)
        for key in ("p808", "sig", "bak", "ovrl"):
            assert abs(mine[key] - ref[f"{key}_mos"]) < 1e-3, (seconds, key, mine, ref)
    # the full-coverage mode scores other windows on such clips (so the check above can fail)
    assert DNSMOS.windows(20 * 16000, "full") != DNSMOS.windows(20 * 16000)


def reverberate(x, rt60, fs=16000, seed=3):
    """Exponentially decaying noise tail after a unit direct path (a diffuse-field RIR)."""
    n = int(rt60 * fs)
    tail = np.random.default_rng(seed).standard_normal(n) * np.exp(-6.908 * np.arange(n) / n)
    h = 0.3 * tail
    h[0] = 1.0
    return fftconvolve(x, h)[:x.size]


def test_srmr_filters_match_their_definitions():
    from scipy.signal import freqz, gammatone, hilbert, sosfreqz

    from sebench.metrics import srmr
    fs = 16000
    cfs = srmr.erb_centre_freqs(fs)
    assert len(cfs) == 23 and cfs[-1] == pytest.approx(125.0) and cfs[0] < fs / 2
    assert np.all(np.diff(cfs) < 0)
    for cf in cfs[::5]:   # Slaney's 4th-order gammatone: scipy's own IIR design, unit gain at cf
        b, a = gammatone(cf, "iir", fs=fs)
        grid = np.linspace(100, 7900, 200)
        ref = np.abs(freqz(b, a, worN=grid, fs=fs)[1]) / abs(freqz(b, a, worN=[cf], fs=fs)[1][0])
        ours = np.abs(sosfreqz(srmr.gammatone_sos(fs, cf), worN=grid, fs=fs)[1])
        assert np.max(np.abs(ours - ref)) < 1e-3   # scipy's order-8 polynomial is ill-conditioned
        assert abs(sosfreqz(srmr.gammatone_sos(fs, cf), worN=[cf], fs=fs)[1][0]) == \
            pytest.approx(1.0, abs=1e-9)
    mod_cfs = srmr.modulation_centre_freqs()
    assert mod_cfs[0] == pytest.approx(4.0) and mod_cfs[-1] == pytest.approx(128.0)
    for cf, low in zip(mod_cfs, srmr.lower_cutoffs(mod_cfs, fs)):
        b, a = srmr.modulation_filter(cf, fs)
        gain = np.abs(freqz(b, a, worN=[cf, low], fs=fs)[1])
        assert gain[0] == pytest.approx(1.0, abs=1e-6)          # band-pass peak at cf
        # the K* thresholds: cf minus half the bandwidth cf/Q, the toolbox's "-3 dB" edge
        assert low == pytest.approx(0.75 * cf, rel=1e-3) and 0.6 < gain[1] < 2 ** -0.5
    x = np.random.default_rng(0).standard_normal((2, 1001))
    assert np.allclose(srmr.hilbert_envelope(x), np.abs(hilbert(x, axis=-1)))


def syllabic_noise(seconds=3.0, fs=16000, seed=0):
    """Noise carrier under a ~4 Hz syllabic envelope: the modulation structure SRMR measures
    (a harmonic test tone would put its energy in the pitch-rate modulation bands instead)."""
    t = np.arange(int(seconds * fs)) / fs
    envelope = np.clip(np.sin(2 * np.pi * 4 * t + np.sin(2 * np.pi * 0.7 * t)), 0, None) ** 2
    return np.random.default_rng(seed).standard_normal(t.size) * envelope


@pytest.mark.slow
def test_srmr_falls_with_reverberation_and_is_gain_invariant():
    from sebench.metrics.srmr import srmr
    x = syllabic_noise()
    dry = srmr(x, 16000)
    assert srmr(x, 16000) == dry and srmr(5 * x, 16000) == pytest.approx(dry, rel=1e-9)
    scores = [srmr(reverberate(x, rt60), 16000) for rt60 in (0.3, 0.6, 1.2)]
    assert dry > scores[0] > scores[1] > scores[2]
    assert srmr(x[::2], 8000) > srmr(reverberate(x, 0.6)[::2], 8000)   # native 8 kHz path
    assert srmr(x, 16000, norm=True) > srmr(reverberate(x, 0.6), 16000, norm=True)
    with pytest.raises(MetricError, match="too short for SRMR"):
        srmr(x[:4000], 16000)
    with pytest.raises(MetricError, match="digital silence"):
        srmr(np.zeros(16000), 16000)


@pytest.mark.slow
def test_srmr_on_real_speech(shared_data):
    from sebench.metrics.srmr import srmr
    clean_dir = shared_data / "vbd_test_subset" / "clean"
    files = sorted(clean_dir.glob("*.wav"))[:4]
    for path in files:
        x, fs = sf.read(path)
        dry = srmr(x, fs)
        assert 4.0 < dry < 12.0, (path.name, dry)         # clean read speech (Falk 2010: ~5-10)
        assert srmr(reverberate(x, 0.8, fs), fs) < 0.7 * dry
        resampled = srmr(np.repeat(x, 3), 3 * fs)         # 48 kHz input is scored at 16 kHz
        assert resampled == pytest.approx(dry, rel=0.05)


@pytest.mark.slow
def test_dnsmos_log_mel_matches_librosa():
    """DNSMOS's P.808 input is defined by librosa calls; ours avoids importing librosa."""
    import librosa

    from sebench.metrics.dnsmos_features import LogMel, mel_filterbank
    x = speech_like(9.0).astype(np.float32)
    ref_filters = librosa.filters.mel(sr=16000, n_fft=321, n_mels=120)
    assert np.allclose(mel_filterbank(16000), ref_filters, atol=1e-7)
    power = np.abs(librosa.stft(x, n_fft=321, hop_length=160)) ** 2
    ref = ((librosa.power_to_db(ref_filters @ power, ref=np.max) + 40) / 40).T
    ours = LogMel()(x)
    assert ours.shape == ref.shape and ours.dtype == np.float32
    assert np.max(np.abs(ours - ref)) < 1e-4


@pytest.mark.slow
@pytest.mark.usefixtures("torch_one_thread")   # fast_bss_eval's solve nests MKL in OpenMP
def test_bss_eval_matches_fast_bss_eval():
    """Our numpy BSS-eval against fast_bss_eval (torch backend), an independent implementation."""
    fast_bss_eval = pytest.importorskip("fast_bss_eval")
    import torch

    from sebench.metrics.bss import bss_eval
    rng = np.random.default_rng(4)
    ref = speech_like(2.0, seed=4).astype(np.float64)
    noise = rng.standard_normal(ref.size) * 0.05
    est = 0.8 * np.convolve(ref, [1.0, 0.3, -0.2])[:ref.size] + 0.5 * noise \
        + 0.01 * rng.standard_normal(ref.size)
    ours = bss_eval(ref, est, noise=noise)
    sdr, sir, sar = (v.numpy()[0] for v in fast_bss_eval.bss_eval_sources(
        torch.from_numpy(np.stack([ref, noise])), torch.from_numpy(np.stack([est, est])),
        compute_permutation=False))
    assert ours["sdr"] == pytest.approx(sdr, abs=1e-3)
    assert ours["sir"] == pytest.approx(sir, abs=1e-3)
    assert ours["sar"] == pytest.approx(sar, abs=1e-3)
    alone = bss_eval(ref, est)
    assert alone["sir"] is None and alone["sdr"] == pytest.approx(alone["sar"])
