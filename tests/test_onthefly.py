"""On-the-fly training streams (sebench.train.onthefly), the global SNR reference and
redrawn silent noise segments of `sebench simulate`."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf
import torch

import fake_method
from conftest import REPO, run_cli
from sebench.audio.levels import active_level_db
from sebench.corpora.testing import make_esc50_tree
from sebench.data.sources import audio_map
from sebench.errors import ConfigError
from sebench.simulate.mix import mix
from sebench.simulate.simulate import DEFAULTS, Simulator, Sources
from sebench.train.onthefly import OnTheFlyDataset, epoch_seed, stream_file
from test_metrics import speech_like

pytestmark = pytest.mark.timeout(200)
FS = 16000


def _sources(root, n_clean=5, n_noise=3, seconds=0.4):
    rng = np.random.default_rng(0)
    for kind, n in (("clean", n_clean), ("noise", n_noise)):
        (root / kind).mkdir(parents=True)
        for i in range(n):
            audio = speech_like(seconds, FS, seed=i) if kind == "clean" else \
                (0.05 * rng.standard_normal(int(seconds * FS))).astype(np.float32)
            sf.write(root / kind / f"{kind}{i}.wav", audio, FS, subtype="FLOAT")
    return root / "clean", root / "noise"


def _stream(root, **cfg):
    clean, noise = _sources(root)
    path = root / "train.yaml"
    path.write_text(json.dumps({"clean": "clean", "noise": "noise", "epoch_size": 12,
                                "config": dict({"segment": 0.11, "snr_range": [0, 10]}, **cfg)}))
    return path


def test_item_is_a_pure_function_of_seed_epoch_and_index(tmp_path):
    path = _stream(tmp_path)
    a, b = OnTheFlyDataset(path, ("wav", "clean", "noise"), seed=3), \
        OnTheFlyDataset(path, ("wav", "clean", "noise"), seed=3)
    assert len(a) == 12 and a.lengths() == [1760] * 12
    first = a.draw(1, 7)
    for i in (5, 0, 11):          # other items and epochs drawn in between change nothing
        b.draw(2, i)
        b.draw(0, i)
    again = b.draw(1, 7)
    assert all(torch.equal(first[f], again[f]) for f in ("wav", "clean", "noise"))
    assert not torch.equal(first["wav"], a.draw(2, 7)["wav"])                 # fresh per epoch
    assert not torch.equal(first["wav"], OnTheFlyDataset(path, seed=4).draw(1, 7)["wav"])
    # one implementation: the item is `sebench simulate`'s item at the epoch's seed
    sim_cfg = dict(a.cfg, num=12, seed=epoch_seed(3, a.cfg["seed"], 1))
    _, signals = Simulator(sim_cfg, a.sources, None).render(7)
    np.testing.assert_array_equal(first["wav"].numpy(), signals["wav"].astype(np.float32))
    torch.testing.assert_close(first["wav"], first["clean"] + first["noise"], atol=1e-6, rtol=0)


def test_stream_declaration_errors_name_the_file(tmp_path):
    path = _stream(tmp_path)
    bad = tmp_path / "bad.yaml"
    bad.write_text("clean: clean\nnoise: noise\nconfig: {segment: 1}\nextra: 1\n")
    with pytest.raises(ConfigError, match="bad.yaml: unknown key 'extra'"):
        OnTheFlyDataset(bad)
    bad.write_text("clean: clean\nnoise: noise\nconfig: {segmnt: 1}\n")
    with pytest.raises(ConfigError, match="bad.yaml: .*segmnt"):
        OnTheFlyDataset(bad)
    bad.write_text("clean: clean\nnoise: noise\nconfig: {snr_range: [0, 5]}\n")
    with pytest.raises(ConfigError, match="needs a segment"):
        OnTheFlyDataset(bad)
    with pytest.raises(ConfigError, match="16000 Hz; the model at 8000"):
        OnTheFlyDataset(path, fs=8000)


@pytest.mark.slow
def test_simulate_onthefly_declares_a_stream(tmp_path):
    clean, noise = _sources(tmp_path)
    out = tmp_path / "stream"
    run_cli("simulate", "--clean", clean, "--noise", noise, "--out", out, "--segment", "0.2",
            "--num", "7", "--onthefly")
    assert stream_file(out) == str(out / "stream.yaml") and not (out / "wav.scp").exists()
    ds = OnTheFlyDataset(out, ("wav", "clean"))
    assert len(ds) == 7 and ds.lengths()[0] == 3200
    # without a segment the trainer's crop sets the length
    run_cli("simulate", "--clean", clean, "--noise", noise, "--out", tmp_path / "s2", "--onthefly")
    assert OnTheFlyDataset(tmp_path / "s2", segment=0.5).lengths()[0] == 8000
    with pytest.raises(ConfigError, match="needs a segment"):
        OnTheFlyDataset(tmp_path / "s2")


def _train(cfg, exp, dirs, env=None):
    args = exp.parent / f"{exp.name}.json"
    args.write_text(json.dumps({"cfg": cfg, "exp": str(exp), "dirs": dirs}))
    return subprocess.run([sys.executable, str(REPO / "tests" / "fake_method.py"), str(args)],
                          capture_output=True, text=True, env=env)


@pytest.mark.slow
def test_onthefly_training_resumes_exactly_after_sigkill(tmp_path):
    """The paired stream is mixed on the fly; killed at step 5 and resumed (with 2 loader
    workers, the uninterrupted run had none) it exports the uninterrupted run's model."""
    dirs = fake_method.make_data(tmp_path / "data")
    dirs["paired"] = str(_stream(tmp_path / "otf"))
    cfg = fake_method.config(data={"segment": 0.11}, train={"epochs": 3})
    a, b = tmp_path / "a", tmp_path / "b"
    first = _train(cfg, a, dirs)
    assert first.returncode == 0, first.stderr[-2000:]
    killed = _train(cfg, b, dirs, env=dict(os.environ, SEBENCH_KILL_AFTER_STEP="5"))
    assert killed.returncode != 0 and not (b / "model").exists()
    cfg_workers = fake_method.config(data={"segment": 0.11, "num_workers": 2}, train={"epochs": 3})
    resumed = _train(cfg_workers, b, dirs)
    assert resumed.returncode == 0 and "resumed from" in resumed.stderr, resumed.stderr[-2000:]
    wa, wb = (torch.load(x / "model" / "model.pt", weights_only=True) for x in (a, b))
    assert wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)


def test_global_snr_reference_sets_the_energy_ratio():
    speech = speech_like(1.0, FS, seed=1).astype(np.float64)
    clean = np.concatenate([speech, np.zeros(FS), speech])   # a 1 s pause: active != global
    noise = np.random.default_rng(2).standard_normal(clean.size) * 0.05
    for snr in (-10.0, 0.0, 7.5):
        m = mix(clean, noise, FS, snr, -25.0, snr_reference="global")
        measured = 10 * np.log10(np.sum(m.clean ** 2) / np.sum(m.noise ** 2))
        assert measured == pytest.approx(snr, abs=1e-6) and m.snr_db == pytest.approx(snr, abs=1e-6)
        active = mix(clean, noise, FS, snr, -25.0)       # the default is unchanged: active
        assert active_level_db(active.clean, FS) - 10 * np.log10(np.mean(active.noise ** 2)) == \
            pytest.approx(snr, abs=0.05)
        assert 10 * np.log10(np.sum(active.clean ** 2) / np.sum(active.noise ** 2)) < snr - 1.0
    with pytest.raises(ConfigError, match="snr_reference"):
        mix(clean, noise, FS, 0.0, -25.0, snr_reference="peak")


@pytest.mark.slow
def test_silent_noise_segments_are_redrawn(tmp_path):
    """ESC-50 clips padded with digital silence: 1 s crops that fall in the zeros are
    redrawn instead of stopping the simulation (they did: 'noise is silent at offset')."""
    root = make_esc50_tree(tmp_path / "ESC-50", categories=("dog", "rain"), folds=(1,),
                           seconds=2.5, silence=1.5)
    audio, fs = sf.read(next((root / "audio").glob("*.wav")))
    assert not np.any(audio[-int(1.4 * fs):]) and np.any(audio)
    clean, _ = _sources(tmp_path / "src", n_clean=2, seconds=1.2)
    cfg = dict(DEFAULTS, segment=1.0, num=30, seed=5)
    sim = Simulator(cfg, Sources(audio_map(str(clean), "clean"), {},
                                 audio_map(str(root / "audio"), "noise"), cfg=cfg), None)
    offsets = []
    for i in range(30):
        row, signals = sim.render(i)
        assert np.any(signals["noise"]) and np.isfinite(row["snr_measured"])
        offsets.append(row["noise_offset"])
    assert max(offsets) < 1.01 * FS   # every kept 1 s crop starts before the silent second


@pytest.mark.slow
def test_ranks_and_workers_split_the_single_process_items(tmp_path):
    """DDP ranks take disjoint shares of each global batch, and loader workers only call the
    pure draw: together they read exactly the single process's items."""
    from sebench.train.data import BucketBatchSampler, make_loader
    path = _stream(tmp_path)
    ds = OnTheFlyDataset(path, ("wav", "clean"), seed=1)
    ds.set_epoch(2)
    single = BucketBatchSampler(ds.lengths(), 4, seed=1)
    single.set_epoch(2)
    whole = {it["key"]: it["wav"] for it in (ds[i] for b in single for i in b)}
    ranks = []
    for rank in (0, 1):
        sampler = BucketBatchSampler(ds.lengths(), 2, seed=1, world_size=2, rank=rank)
        sampler.set_epoch(2)
        ranks.append([k for batch in make_loader(ds, sampler, num_workers=2)
                      for k in batch["keys"]])
        for batch in make_loader(ds, sampler, num_workers=2):
            for key, wav in zip(batch["keys"], batch["wav"]):
                assert torch.equal(wav, whole[key])
    assert not set(ranks[0]) & set(ranks[1]) and set(ranks[0]) | set(ranks[1]) == set(whole)
