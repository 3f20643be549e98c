"""egs/vbd/se1 end to end at smoke size on a generated tree in the VoiceBank-DEMAND release
layout (sebench.corpora.testing.make_vbd_tree): paper 004's random 90/10 split, the 16 kHz
format stage with noise.scp = noisy - clean, Non-Adv and Adv-IRM training (branch-free
exports), Tables I-III in RESULTS.md, the beta-sweep figure and Table IV; a wrong root stops at stage 1
with the expected tree; and the real VBD test pairs of ../shared/data scored through the
recipe's score stage (skipped when absent)."""
import csv
import json
import os
import subprocess

import numpy as np
import pytest
import soundfile as sf
import yaml

from conftest import REPO
from sebench.corpora.testing import make_vbd_tree

RECIPE = REPO / "egs" / "vbd" / "se1"
REAL = REPO.parent / "shared" / "data" / "vbd_test_subset"


def run_recipe(tmp, *args, vbd=None):
    cmd = ["./run.sh", "--confdir", "conf/smoke", "--nj", "1", "--ngpu", "0",
           "--data", str(tmp / "data"), "--exp", str(tmp / "exp"), *map(str, args)]
    env = {k: v for k, v in os.environ.items() if k != "VBD"}
    env.update(SEBENCH_NO_PROGRESS="1", **({"VBD": str(vbd)} if vbd else {}))
    env.setdefault("OMP_NUM_THREADS", "1")   # tiny models: extra threads only wait on barriers
    return subprocess.run(cmd, cwd=RECIPE, capture_output=True, text=True, env=env)


def keys(path):
    return [line.split()[0] for line in path.read_text().splitlines()]


def results_text(exp):
    return (exp / "RESULTS.md").read_text()


@pytest.mark.slow
@pytest.mark.timeout(900)   # end to end on a shared 2-core machine
@pytest.mark.recipe
def test_vbd_recipe_smoke(tmp_path):
    corpus = make_vbd_tree(tmp_path / "VBD", train_speakers=("p226", "p287", "p230", "p231"),
                           utts=5)
    systems = "noisy,oracle_irm,cnn_blstm,nonadv,adv_irm,adv_irm_beta06,adv_irm_beta08"
    proc = run_recipe(tmp_path, "--systems", systems, vbd=corpus)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    exp, data = tmp_path / "exp", tmp_path / "data"
    for n in (1, 2, 6, 7, 8, 9, 10, 11, 12):
        assert (exp / f".stage{n}.done").is_file(), n
    # paper 004's split: a seeded random 10 % of the 20 training utterances, all speakers
    train, valid = keys(data / "train" / "wav.scp"), keys(data / "valid" / "wav.scp")
    assert len(valid) == 2 and len(train) == 18 and not set(train) & set(valid)
    assert not (data / "train_all").exists()
    assert len(keys(data / "test" / "wav.scp")) == 10
    for name in ("train", "valid", "test"):
        assert {line.split()[1] for line in (data / name / "utt2fs").read_text().splitlines()} \
            == {"16000"}
        assert (data / name / "noise.scp").is_file() and (data / name / "utt2snr").is_file()
    # noise.scp is noisy - clean at 16 kHz
    utt = keys(data / "test" / "wav.scp")[0]
    read = {f: dict(line.split(maxsplit=1) for line in (data / "test" / f"{f}.scp")
                    .read_text().splitlines())[utt].strip() for f in ("wav", "clean", "noise")}
    y, x, v = (sf.read(read[f])[0] for f in ("wav", "clean", "noise"))
    assert np.abs((y - x) - v).max() < 2e-4
    # branch-free exports of the same size
    from sebench.models import count_parameters
    from sebench.models.store import load_model
    sizes = {count_parameters(load_model(exp / s / "seed1")[0]) for s in ("nonadv", "adv_irm")}
    assert len(sizes) == 1
    assert "adv_bce" in (exp / "adv_irm" / "seed0" / "train_log.csv").read_text()
    assert "adv_bce" not in (exp / "nonadv" / "seed0" / "train_log.csv").read_text()
    # paper 004's selection: a search per scheme chosen by validation COVL, then two seeds
    # (smoke size) of the chosen config; the test set never takes part in the choice
    for scheme in ("nonadv", "adv_irm"):
        search = exp / scheme / "search"
        table = (search / "trials.md").read_text()
        assert "| trial0 |" in table or "| **trial0** |" in table
        assert "trial1" in table and "metric:covl:max" in table and "**trial" in table
        chosen = yaml.safe_load((search / "chosen.yaml").read_text())
        seed1 = yaml.safe_load((exp / scheme / "seed1" / "config.yaml").read_text())
        assert seed1["seed"] == 1 and seed1["optim"]["se"]["lr"] == chosen["optim"]["se"]["lr"]
    assert "### Search: Adv-IRM" in results_text(exp) and "## Seeds" in results_text(exp)
    # Tables I-II as one table, Table III as the significance table
    results = (exp / "RESULTS.md").read_text()
    for column in ("SI-SDR", "SDR", "SNR (BSS SIR)", "SAR", "CSIG", "CBAK", "COVL", "PESQ", "STOI"):
        assert f"test: {column} |" in results, column
    for row in ("| Noisy |", "| Non-Adv |", "| Adv-IRM |", "| Adv-IRM (beta 0.6) |",
                "| Oracle-IRM |", "| CNN-BLSTM (supervised) |"):
        assert row in results
    # the oracle mask (given the clean reference) beats the input by far
    sisdr = {s: json.loads((exp / "scores" / s / "test" / "summary.json").read_text())
             ["metrics"]["sisdr"]["mean"] for s in ("noisy", "oracle_irm")}
    assert sisdr["oracle_irm"] > sisdr["noisy"] + 3
    # per input SNR and per noise type, from utt2snr / utt2noise
    assert "## test by snr" in results and "## test by noise" in results
    assert "## Significance against Non-Adv" in results
    # stage 11: the sweep of the scored points (0.6 and 0.8 in this run)
    png = exp / "beta_sweep.png"
    assert png.read_bytes()[:4] == b"\x89PNG"
    sweep = (exp / "beta_sweep.md").read_text()
    assert "| 0.6 | adv_irm_beta06 |" in sweep and "| 0.8 | adv_irm_beta08 |" in sweep
    assert "0.7" not in sweep
    # stage 12: Table IV, encoder norms of the trained schemes for clean vs noise input
    norms = (exp / "encoder_norms.md").read_text()
    assert "| Non-Adv |" in norms and "| Adv-IRM |" in norms and "Coop" not in norms
    # stage 13: Figs. 3-4, spectrograms and encoder feature maps of the first test utterance
    for fig in ("fig3_spectrograms.png", "fig4_encoder_maps.png"):
        assert (exp / "figures" / fig).read_bytes()[:4] == b"\x89PNG", fig
    # a rerun does nothing
    again = run_recipe(tmp_path, "--systems", systems, vbd=corpus)
    assert again.returncode == 0 and again.stdout.count("already done") >= 9


@pytest.mark.timeout(120)
def test_vbd_recipe_wrong_root_prints_the_tree(tmp_path):
    (tmp_path / "somewhere").mkdir()
    proc = run_recipe(tmp_path, "--stop_stage", 2, vbd=tmp_path / "somewhere")
    assert proc.returncode != 0
    assert "clean_trainset_28spk_wav/" in proc.stderr + proc.stdout
    assert "Traceback" not in proc.stderr


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_real_vbd_test_pairs_through_the_score_stage(tmp_path):
    """The 24 real VoiceBank-DEMAND test pairs as the recipe's test set (a generated training
    set beside them): the score stage's PESQ-WB and STOI of the noisy input equal the
    reference implementations' on the same files, and the noisy SI-SDR follows the SNR."""
    if not REAL.is_dir():
        pytest.skip("../shared/data/vbd_test_subset is absent")
    corpus = make_vbd_tree(tmp_path / "VBD", utts=2)
    with open(REAL / "pairs.csv") as f:
        pairs = list(csv.DictReader(f))
    lines = []
    for kind in ("clean", "noisy"):
        folder = corpus / f"{kind}_testset_wav"
        for old in folder.iterdir():
            old.unlink()
        for p in pairs:
            (folder / os.path.basename(p[kind])).symlink_to(REAL / p[kind])
    for p in pairs:
        lines.append(f"{os.path.basename(p['noisy'])[:-4]} unknown {float(p['measured_snr_db']):g}\n")
    (corpus / "logfiles" / "log_testset.txt").write_text("".join(lines))
    proc = run_recipe(tmp_path, "--systems", "noisy", "--stop_stage", 9, vbd=corpus)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    scores = tmp_path / "exp" / "scores" / "noisy" / "test"
    summary = json.loads((scores / "summary.json").read_text())
    assert summary["utterances"] == 24
    per_utt = {m: dict(line.split() for line in (scores / f"utt2{m}").read_text().splitlines())
               for m in ("pesq_wb", "stoi", "sisdr")}
    from pesq import pesq
    from pystoi import stoi
    for p in pairs[:6]:
        utt = os.path.basename(p["noisy"])[:-4]
        clean, fs = sf.read(REAL / p["clean"])
        noisy, _ = sf.read(REAL / p["noisy"])
        assert float(per_utt["pesq_wb"][utt]) == pytest.approx(pesq(fs, clean, noisy, "wb"), abs=2e-3)
        assert float(per_utt["stoi"][utt]) == pytest.approx(stoi(clean, noisy, fs), abs=2e-3)
    sisdr = np.array([float(per_utt["sisdr"][os.path.basename(p["noisy"])[:-4]]) for p in pairs])
    snr = np.array([float(p["measured_snr_db"]) for p in pairs])
    assert np.corrcoef(sisdr, snr)[0, 1] > 0.95
    results = (tmp_path / "exp" / "RESULTS.md").read_text()
    assert "| Noisy |" in results
