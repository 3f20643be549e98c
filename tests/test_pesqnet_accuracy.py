"""Paper 002's PESQNet accuracy (Tables I-II, Figs. 7-8) and <1-1> curves (Figs. 9-12):
``sebench pesqnet-accuracy`` / ``pesqnet-curves`` on tiny exported models."""
import json

import numpy as np
import pytest
import torch

from conftest import run_cli, varied_speech, write_wav
from sebench.audio.io import read
from sebench.data import DataDir
from sebench.errors import SebenchError
from sebench.metrics.intrusive import pesq_wb
from sebench.models import build_model
from sebench.models.store import export_model
from sebench.quality import build_predictor
from sebench.quality.pesqnet_accuracy import training_curves

pytestmark = pytest.mark.timeout(120)

FCRN = {"name": "fcrn", "fs": 16000, "filters": 4, "kernel": 5,
        "stft": {"n_fft": 512, "hop_length": 192, "win_length": 384, "window": "hann"},
        "feature": {"type": "magnitude", "normalize": False}}
PESQNET = {"kind": "predictor", "name": "pesqnet", "channels": [4, 4], "conv_out": 4,
           "hidden": 8, "fc": 8, "feature": "magnitude"}


def make_condition(folder, seed):
    rng = np.random.default_rng(seed)
    wav, clean = {}, {}
    for i in range(3):
        s = varied_speech(1.0, seed=seed * 10 + i) * 3
        y = s + (0.02 * (i + 1) * rng.standard_normal(s.size)).astype(np.float32)
        clean[f"u{i}"] = str(write_wav(folder / "clean" / f"u{i}.wav", s, subtype="FLOAT"))
        wav[f"u{i}"] = str(write_wav(folder / "noisy" / f"u{i}.wav", y, subtype="FLOAT"))
    d = DataDir(folder)
    d.write("wav.scp", wav)
    d.write("clean.scp", clean)
    return folder


@pytest.mark.slow
def test_accuracy_per_condition_matches_the_models_and_true_pesq(tmp_path):
    torch.manual_seed(0)
    se, q = build_model(FCRN), build_predictor(PESQNET)
    export_model(tmp_path / "fcrn" / "model", FCRN, se.state_dict())
    export_model(tmp_path / "pesqnet_ft" / "model_pesqnet", PESQNET, q.state_dict())
    conds = {"no_reverb": make_condition(tmp_path / "a", 1),
             "with_reverb": make_condition(tmp_path / "b", 2)}
    out = tmp_path / "table2"
    run_cli("pesqnet-accuracy", "--se", tmp_path / "fcrn", "--pesqnet", tmp_path / "pesqnet_ft",
            "--conditions", ",".join(f"{k}={v}" for k, v in conds.items()), "--out", out)
    results = json.loads((out / "accuracy.json").read_text())
    se.eval(), q.eval()
    for name, folder in conds.items():
        d = DataDir(out / name)
        for kind in ("noisy", "enhanced"):
            pred, true = d.read_float(f"utt2pesqnet_{kind}"), d.read_float(f"utt2pesq_{kind}")
            assert set(pred) == {"u0", "u1", "u2"}
            oracle = {}
            for key in pred:        # the oracle: the models and P.862.2 called directly
                y, _ = read(DataDir(folder).read("wav.scp")[key])
                s, _ = read(DataDir(folder).read("clean.scp")[key])
                with torch.no_grad():
                    audio = y if kind == "noisy" else se(torch.from_numpy(y)[None])["wave"][0].numpy()
                    est = float(q(torch.from_numpy(np.ascontiguousarray(audio))[None])[0])
                oracle[key] = (est, pesq_wb(s.astype(np.float64), audio.astype(np.float64), 16000))
                assert pred[key] == pytest.approx(oracle[key][0], abs=1e-3)
                assert true[key] == pytest.approx(oracle[key][1], abs=1e-3)
            p, t = (np.array([oracle[k][i] for k in sorted(oracle)]) for i in (0, 1))
            assert results[name][kind]["mae"] == pytest.approx(np.mean(np.abs(p - t)), abs=1e-3)
            assert results[name][kind]["lcc"] == pytest.approx(np.corrcoef(p, t)[0, 1], abs=1e-2)
    table = (out / "accuracy.md").read_text()
    assert "| condition | MAE(s_hat) | MAE(y) | LCC(s_hat) | LCC(y) | clips |" in table
    assert table.count("| no_reverb |") == 1 and table.count("| with_reverb |") == 1
    assert (out / "scatter.png").stat().st_size > 5000


@pytest.mark.slow           # matplotlib's first import
def test_curves_from_the_alternate_log(tmp_path):
    exp = tmp_path / "pesqnet"
    exp.mkdir()
    (exp / "valid_log.csv").write_text(
        "step,epoch,loss,j_total_est,j_total_true,pesqnet_mae,pesq\n"
        "3,1,0.5,0.5,1.2,0.30,3.30\n6,2,0.7,0.7,1.1,0.20,3.31\n9,3,0.4,0.4,1.0,0.22,3.35\n")
    found = training_curves(exp, tmp_path / "curves")
    assert found["tau"] == [1, 2, 3] and found["j_total_est"] == [0.5, 0.7, 0.4]
    assert found["pesq"] == [3.30, 3.31, 3.35] and found["pesqnet_mae"] == [0.30, 0.20, 0.22]
    assert (tmp_path / "curves" / "curves.csv").read_text().splitlines()[1] == "1,0.5,0.3,3.3"
    for png in ("loss_mae.png", "pesq.png"):
        assert (tmp_path / "curves" / png).stat().st_size > 5000
    (exp / "valid_log.csv").write_text("step,epoch,loss\n3,1,0.5\n")
    with pytest.raises(SebenchError, match="no column j_total_est"):
        training_curves(exp, tmp_path / "c2")
