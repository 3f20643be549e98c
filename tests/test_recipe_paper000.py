"""Paper 000's recipes wired together: egs/vbd/se1's supervised CNN-BLSTM (paper 000's
p226/p287 split) starts egs/vox2/se1's semi and semi+robust_q and is its "Supervised" row;
deepdream is declared with each of the three teachers of Tables 1-2 (Q_Vox2+DNSMOS and
egs/iub/se1's Q_IUB). Generated corpus trees (sebench.corpora.testing), smoke sizes."""
import math
import os
import re
import subprocess

import pytest
import yaml

from conftest import REPO
from sebench.corpora.testing import make_dns_tree, make_iub_tree, make_vbd_tree, make_vox2_tree
from sebench.data.datadir import DataDir

VBD = REPO / "egs" / "vbd" / "se1"
VOX2 = REPO / "egs" / "vox2" / "se1"
IUB = REPO / "egs" / "iub" / "se1"
DNS_SETS = "dns_blind_real,dns_blind_noreverb,dns_blind_reverb,dns3_blind"
TEACHERS = {"deepdream": "qp_cnn", "deepdream_blstm": "qp_blstm",
            "deepdream_cnn_blstm": "qp_cnn_blstm"}


def run_recipe(recipe, out, *args, **env):
    cmd = ["./run.sh", "--confdir", "conf/smoke", "--nj", "1", "--data", str(out / "data"),
           "--exp", str(out / "exp"), *map(str, args)]
    env = dict(os.environ, SEBENCH_NO_PROGRESS="1", **env)
    return subprocess.run(cmd, cwd=recipe, capture_output=True, text=True, env=env)


def load(path):
    return yaml.safe_load(open(path))


@pytest.mark.timeout(60)
def test_vox2s_default_supervised_model_is_a_vbd_system_on_paper_000s_split():
    # run.sh's default VBD_SUPERVISED names egs/vbd/se1's exp/<system>: that system exists,
    # trains the CNN-BLSTM on the p226/p287 split, and has vox2's full-size architecture
    default = re.search(r"VBD_SUPERVISED:-([^}]+)\}", (VOX2 / "run.sh").read_text()).group(1)
    assert default == "../../vbd/se1/exp/supervised"
    systems = load(VBD / "conf" / "recipe.yaml")["systems"]
    train = systems[os.path.basename(default)]["train"]
    assert (train["data"], train["valid"]) == ("train_spk", "valid_spk")
    vbd_model, vox2_model = load(VBD / "conf" / train["model"]), load(VOX2 / "conf" / "se.yaml")
    shape = ("name", "stft", "feature", "channels", "kernel", "lstm_hidden", "lstm_layers",
             "fc_hidden")
    assert {k: vbd_model[k] for k in shape} == {k: vox2_model[k] for k in shape}
    smoke = {k: v for k, v in load(VBD / "conf" / "smoke" / train["model"]).items()}
    assert smoke == load(VOX2 / "conf" / "smoke" / "se.yaml")     # and at smoke size
    # Tables 1-2: deepdream with each of the three teachers, Vox2+DNSMOS and IUB
    vox2 = load(VOX2 / "conf" / "recipe.yaml")["systems"]
    for name, qp in TEACHERS.items():
        assert f"--method_options.qp {{exp:{qp}}}" in vox2[name]["train"]["args"]
        iub = name.replace("deepdream", "deepdream_iub")
        assert f"--method_options.qp {{env:IUB_PACKED}}/{qp}.zip" in vox2[iub]["train"]["args"]
    # Algorithm 1 on the supervised output, with the robust-Q training attack's settings
    assert vox2["semi+robust_q"]["enhance"] == \
        "--robust-q {exp:qp_robust} --after {env:VBD_SUPERVISED} --rq-steps 10 --rq-lr 0.1 " \
        "--rq-step plain"
    assert vox2["robust_q"]["enhance"].endswith("--rq-steps 10 --rq-lr 0.1 --rq-step plain")
    assert vox2["supervised"]["enhance"] == "{env:VBD_SUPERVISED}"
    # the paper's names: Tables 3-7 in order, the DNS3 blind set is Table 4, Table 2 predictors
    policy = load(VOX2 / "conf" / "eval.yaml")
    assert list(policy["sets"]) == ["test", "dns3_blind", "dns_blind_real", "dns_blind_noreverb",
                                    "dns_blind_reverb"]
    note = " ".join(policy["note"].split())
    assert "track 1 real recordings (Table 4" in note and "(track 1, not in the paper)" not in note
    assert "The predictor table is Table 2's" in note
    assert policy["names"]["supervised"].startswith("Supervised")


@pytest.mark.slow
@pytest.mark.recipe
@pytest.mark.timeout(2400)
def test_vbd_then_vox2_supervised_semi_robust_q_and_three_teachers(tmp_path):
    # egs/vbd/se1: paper 000's supervised CNN-BLSTM, validated on p226/p287
    vbd = run_recipe(VBD, tmp_path / "vbd", "--systems", "supervised", "--stop_stage", 6,
                     VBD=str(make_vbd_tree(tmp_path / "vbd_corpus")))
    assert vbd.returncode == 0, vbd.stdout[-3000:] + vbd.stderr[-3000:]
    supervised = tmp_path / "vbd" / "exp" / "supervised"
    assert (supervised / ".done").is_file()
    assert set(DataDir(tmp_path / "vbd" / "data" / "valid_spk").utt2spk().values()) == \
        {"p226", "p287"}
    # egs/iub/se1: the three Q_IUB teachers, packed
    iub = run_recipe(IUB, tmp_path / "iub", "--systems", "qp_cnn,qp_blstm,qp_cnn_blstm",
                     IUB=str(make_iub_tree(tmp_path / "iub_corpus", clips=6)))
    assert iub.returncode == 0, iub.stdout[-3000:] + iub.stderr[-3000:]
    packed = tmp_path / "iub" / "exp" / "packed"

    # egs/vox2/se1 with both: nothing wired by hand beyond where the two exp dirs are
    systems = ["supervised", "gan", "semi", "semi+robust_q", *TEACHERS,
               *(n.replace("deepdream", "deepdream_iub") for n in TEACHERS)]
    vox2 = run_recipe(VOX2, tmp_path / "vox2", "--systems", ",".join(systems),
                      "--leave_out_sets", DNS_SETS,
                      VOX2=str(make_vox2_tree(tmp_path / "vox2_corpus")),
                      DNS=str(make_dns_tree(tmp_path / "dns_corpus")),
                      VBD_SUPERVISED=str(supervised), IUB_PACKED=str(packed))
    assert vox2.returncode == 0, vox2.stdout[-3000:] + vox2.stderr[-3000:]
    assert "no supervised model" not in vox2.stderr and "packed predictors" not in vox2.stderr
    exp = tmp_path / "vox2" / "exp"
    config = load(exp / "semi" / "config.yaml")
    assert config["method_options"]["init_from"] == str(supervised)
    plan = (exp / "plan" / "enhance.tsv").read_text()
    assert f"enhance {supervised} " in plan                              # the Supervised row
    assert f"--robust-q {exp / 'qp_robust'} --after {supervised} " in plan
    for name, qp in TEACHERS.items():
        assert load(exp / name / "config.yaml")["method_options"]["qp"] == str(exp / qp)
        iub_name = name.replace("deepdream", "deepdream_iub")
        assert load(exp / iub_name / "config.yaml")["method_options"]["qp"] == \
            str(packed / f"{qp}.zip")
    results = (exp / "RESULTS.md").read_text()
    header = next(line for line in results.splitlines() if line.startswith("| system |"))
    assert "test: OVRL" in header and "dns3_blind" not in header       # left out
    lines = results.splitlines()
    start = lines.index(header)
    rows = [[c.strip() for c in r.split("|")[1:-1]] for r in lines[start + 2:lines.index("", start)]]
    assert [r[0] for r in rows] == [
        "Supervised (CNN-BLSTM, VBD)", "DeepDream-like (CNN teacher)",
        "DeepDream-like (BLSTM teacher)", "DeepDream-like (CNN-BLSTM teacher)",
        "DeepDream-like (Q_IUB CNN teacher)", "DeepDream-like (Q_IUB BLSTM teacher)",
        "DeepDream-like (Q_IUB CNN-BLSTM teacher)", "GAN-like",
        "Semi-supervised (from VBD supervised)",
        "Semi-supervised (Robust Q on the supervised output)"]
    assert all(math.isfinite(float(c)) for r in rows for c in r[1:])
    # Figs. 1-3: training curves of deepdream vs GAN-like and per teacher, spectrograms
    figures = exp / "figures"
    for png in ("fig1_deepdream_vs_gan.png", "fig2_teachers.png", "fig3_spectrograms.png"):
        assert (figures / png).read_bytes()[:4] == b"\x89PNG", png
    fig1 = (figures / "fig1_deepdream_vs_gan.md").read_text()
    assert "| deepdream | valid:teacher |" in fig1 and "| gan | metric:dnsmos_ovrl |" in fig1
    fig2 = (figures / "fig2_teachers.md").read_text()
    assert all(f"| {t} | valid:teacher |" in fig2 for t in ("CNN", "BLSTM", "IUB CNN-BLSTM"))
