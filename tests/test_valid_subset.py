"""Validation subsets: seeded, speaker-stratified, recorded, the same on resume (issue 25)."""
import collections
import os

import numpy as np
import pytest

from conftest import TINY_CNN_BLSTM, run_cli, write_wav
from sebench.data.datadir import DataDir
from sebench.errors import SebenchError
from sebench.train.data import AudioDataset
from sebench.train.valid_subset import allocate, recorded_subset, stratified_subset

SIZES = {"id00012": 60, "id00015": 20, "id00017": 7, "id00018": 5, "id00019": 3,
         "id00020": 2, "id00021": 1}


def make_dir(root, audio=False):
    """Seven speakers of unequal size (Vox2's validation has seven), two noise types, SNRs."""
    ddir = DataDir(root)
    wav, spk, noise, snr = {}, {}, {}, {}
    for s, n in SIZES.items():
        for i in range(n):
            key = f"{s}-u{i:03d}"
            wav[key] = str(root / "wav" / f"{key}.wav")
            spk[key], noise[key], snr[key] = s, ("babble", "car")[i % 2], str(-5 + 5 * (i % 4))
            if audio:
                write_wav(wav[key], 0.1 * np.sin(np.arange(1600) * (0.05 + 0.001 * i)).astype(np.float32))
    ddir.write("wav.scp", wav)
    ddir.write_utt2spk(spk)
    ddir.write("utt2noise", noise)
    ddir.write("utt2snr", snr)
    return ddir


def test_every_speaker_is_represented_and_shares_follow_sizes(tmp_path):
    ddir = make_dir(tmp_path / "valid")
    first_sorted = ddir.keys[:20]
    assert {k.split("-")[0] for k in first_sorted} == {"id00012"}     # the old behaviour
    chosen = stratified_subset(ddir.path, ddir.keys, 20, seed=3)
    per_spk = collections.Counter(k.split("-")[0] for k in chosen)
    assert len(chosen) == 20 and set(per_spk) == set(SIZES)
    assert per_spk["id00012"] > per_spk["id00015"] > per_spk["id00021"] == 1
    # within the big speaker both noise types and several SNR bins are drawn
    utt2noise, utt2snr = ddir.read("utt2noise"), ddir.read("utt2snr")
    big = [k for k in chosen if k.startswith("id00012")]
    assert {utt2noise[k] for k in big} == {"babble", "car"} and len({utt2snr[k] for k in big}) >= 3
    # seeded: the same seed draws the same keys, another seed other keys
    assert stratified_subset(ddir.path, ddir.keys, 20, seed=3) == chosen
    assert stratified_subset(ddir.path, ddir.keys, 20, seed=4) != chosen
    # null (or more than the set) is the whole set
    assert stratified_subset(ddir.path, ddir.keys, None, seed=3) == ddir.keys
    assert stratified_subset(ddir.path, ddir.keys, 500, seed=3) == ddir.keys


def test_fewer_utterances_than_speakers_and_allocation():
    assert list(allocate([60, 20, 7, 5, 3, 2, 1], 7, list(range(7)))) == [1] * 7
    quota = allocate([60, 20, 7, 5, 3, 2, 1], 3, list(range(7)))
    assert quota.sum() == 3 and quota[0] >= 1
    quota = allocate([5, 1], 6, [0, 1])
    assert list(quota) == [5, 1]                       # never more than a speaker has


def test_recorded_and_read_back(tmp_path):
    ddir = make_dir(tmp_path / "valid")
    record = str(tmp_path / "exp" / "valid_subset.txt")
    chosen = recorded_subset(record, ddir.path, ddir.keys, 10, seed=0)
    assert open(record).read().split() == chosen
    # a resume reads the record back, whatever the draw would now give
    assert recorded_subset(record, ddir.path, ddir.keys, 10, seed=99) == chosen
    with open(record, "w") as f:
        f.write("id00021-u000\n")
    assert recorded_subset(record, ddir.path, ddir.keys, 10, seed=0) == ["id00021-u000"]
    with open(record, "w") as f:
        f.write("gone\n")
    with pytest.raises(SebenchError, match="valid_subset.txt: 1 recorded validation keys"):
        recorded_subset(record, ddir.path, ddir.keys, 10, seed=0)


def test_dataset_uses_the_stratified_recorded_subset(tmp_path):
    ddir = make_dir(tmp_path / "valid", audio=True)
    record = tmp_path / "exp" / "valid_subset.txt"
    data = AudioDataset(ddir.path, max_utts=7, random_crop=False, subset_file=str(record))
    assert sorted(data.keys) == open(record).read().split()
    assert {k.split("-")[0] for k in data.keys} == set(SIZES)


@pytest.mark.slow
def test_trainer_records_subsets_and_resume_reads_them_back(paired_data, tmp_path):
    exp = tmp_path / "exp"
    common = ("--train", paired_data / "train", "--valid", paired_data / "valid",
              "--model-config", TINY_CNN_BLSTM, "--exp", exp, "--data.batch_size", 4,
              "--data.segment", 1.0, "--optim.se.lr", 1e-3, "--train.max_steps", 4, "--train.epochs", 0,
              "--train.checkpoint_every", 2, "--train.valid_every", 2,
              "--data.valid_max_utts", 3, "--train.valid_metrics", "stoi",
              "--train.valid_metric_utts", 2)
    killed = run_cli("train", *common, check=False,
                     env=dict(os.environ, SEBENCH_KILL_AFTER_STEP="3"))
    assert killed.returncode != 0
    valid_keys = DataDir(paired_data / "valid").keys
    loss_subset = (exp / "valid_subset.txt").read_text().split()
    metric_subset = (exp / "valid_metric_subset.txt").read_text().split()
    assert len(loss_subset) == 3 and len(metric_subset) == 2
    assert set(loss_subset) | set(metric_subset) <= set(valid_keys)
    # hand the record another key: the resumed run must validate on what is recorded
    other = [k for k in valid_keys if k not in metric_subset][0]
    (exp / "valid_metric_subset.txt").write_text(other + "\n")
    run_cli("train", *common)
    assert (exp / "valid_subset.txt").read_text().split() == loss_subset
    enh = sorted(p.stem for p in (exp / "valid" / "step00000004" / "enh").iterdir())
    assert enh == [other]
