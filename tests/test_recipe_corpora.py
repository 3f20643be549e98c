"""Paper 000 on real corpora: egs/iub/se1 and egs/vox2/se1 end to end at smoke size on
generated trees in the release layouts (sebench.corpora.testing), the curation of real
training data (`sebench data curate`) and the {env:NAME} recipe placeholder."""
import math
import os
import subprocess

import pytest
import yaml

from conftest import REPO, write_wav
from sebench.corpora.testing import make_dns_tree, make_iub_tree, make_vox2_tree, speech_like
from sebench.data.datadir import DataDir, read_kv
from sebench.errors import ConfigError, SebenchError

IUB = REPO / "egs" / "iub" / "se1"
VOX2 = REPO / "egs" / "vox2" / "se1"


def run_recipe(recipe, tmp, *args, **env):
    cmd = ["./run.sh", "--confdir", "conf/smoke", "--nj", "1",
           "--data", str(tmp / "data"), "--exp", str(tmp / "exp"), *map(str, args)]
    env = dict(os.environ, SEBENCH_NO_PROGRESS="1", **env)
    return subprocess.run(cmd, cwd=recipe, capture_output=True, text=True, env=env)


def table_rows(text, header_start):
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header_start))
    end = lines.index("", start)
    return [[c.strip() for c in row.split("|")[1:-1]] for row in lines[start + 2:end]]


# -- egs/iub/se1 --------------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.recipe
def test_iub_recipe_smoke(tmp_path):
    root = make_iub_tree(tmp_path / "iub", clips=6, scale="0-100")
    done = run_recipe(IUB, tmp_path, IUB=str(root))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    exp, data = tmp_path / "exp", tmp_path / "data"
    # human ratings 0-100 -> utt2mos on 1-5, split 2 valid / 4 test / rest train
    mos = {k: float(v) for k, v in read_kv(data / "train" / "utt2mos").items()}
    assert len(mos) == 6 and all(1.0 <= v <= 5.0 for v in mos.values())
    assert len(DataDir(data / "test").keys) == 4 and len(DataDir(data / "valid").keys) == 2
    assert not (data / "train" / "utt2dnsmos_p808").exists()      # never mixed with DNSMOS
    # Table 1: the three architectures with LCC/SRCC/MSE, a scatter plot each, packed
    results = (exp / "RESULTS.md").read_text()
    rows = table_rows(results, "| predictor |")
    assert [r[0] for r in rows] == ["CNN", "BLSTM", "CNN-BLSTM"]
    for r in rows:
        assert r[1] == "4" and math.isfinite(float(r[4]))         # n and MSE
    for name in ("qp_cnn", "qp_blstm", "qp_cnn_blstm"):
        assert (exp / name / "test_test" / "scatter.png").is_file()
        assert f"({name}/test_test/scatter.png)" in results
        assert (exp / "packed" / f"{name}.zip").is_file()
    # the packed teacher loads as a predictor and scores audio
    from sebench.models.store import load_model
    import torch
    q, _ = load_model(exp / "packed" / "qp_cnn.zip", kinds={"predictor"})
    assert torch.isfinite(q(torch.randn(1, 8000) * 0.1)).all()

    # the same corpus rated on 1-5 gives the same utt2mos (prepare only)
    root5 = make_iub_tree(tmp_path / "iub5", clips=6, scale="1-5")
    five = run_recipe(IUB, tmp_path / "five", "--stop_stage", 1, IUB=str(root5))
    assert five.returncode == 0, five.stderr[-2000:]
    mos5 = read_kv(tmp_path / "five" / "data" / "local" / "train" / "utt2mos")
    assert {k: float(v) for k, v in mos5.items()} == pytest.approx(mos, abs=0.006)   # CSV rounding


@pytest.mark.timeout(120)
def test_iub_recipe_wrong_root_prints_the_tree(tmp_path):
    (tmp_path / "empty").mkdir()
    failed = run_recipe(IUB, tmp_path, "--stop_stage", 1, IUB=str(tmp_path / "empty"))
    assert failed.returncode != 0
    assert "ratings.csv" in failed.stderr and "COSINE/" in failed.stderr
    assert "Traceback" not in failed.stderr


# -- egs/vox2/se1 -------------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.timeout(1500)
@pytest.mark.recipe
def test_vox2_recipe_smoke(tmp_path):
    vox2 = make_vox2_tree(tmp_path / "vox2")
    dns = make_dns_tree(tmp_path / "dns", blind_tracks=True)
    done = run_recipe(VOX2, tmp_path, "--systems", "noisy,deepdream", VOX2=str(vox2), DNS=str(dns),
                      VBD_SUPERVISED=str(tmp_path / "no_vbd"))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "'semi' and 'semi+robust_q' need egs/vbd/se1's" in done.stderr   # said up front
    exp, data = tmp_path / "exp", tmp_path / "data"
    # the paper's speaker split; .m4a decoded by the format stage (PyAV)
    spk = {name: set(DataDir(data / name).utt2spk().values()) for name in ("train", "valid", "test")}
    assert spk["train"] == {"id00517", "id02057"}
    assert "id04344" in spk["valid"] and "id09109" in spk["test"] and len(spk["test"]) == 10
    assert all(p.endswith(".m4a") for p in read_kv(data / "local" / "train" / "wav.scp").values())
    assert all(p.endswith(".wav") for p in read_kv(data / "train" / "wav.scp").values())
    assert set(read_kv(data / "train" / "utt2fs").values()) == {"16000"}
    for name in ("train", "valid", "test"):
        for label in ("p808", "sig", "bak", "ovrl"):
            assert (data / name / f"utt2dnsmos_{label}").is_file()
    assert len(DataDir(data / "dns_blind_noreverb").keys) == 2
    assert len(DataDir(data / "dns3_blind").keys) == 3          # track 1 of the later release
    # deepdream logs validation DNSMOS against iterations; RESULTS has every set
    assert "dnsmos_ovrl" in (exp / "deepdream" / "valid_metrics.csv").read_text()
    results = (exp / "RESULTS.md").read_text()
    header = next(line for line in results.splitlines() if line.startswith("| system |"))
    for name in ("test", "dns_blind_real", "dns_blind_noreverb", "dns_blind_reverb", "dns3_blind"):
        assert f"{name}: OVRL" in header
    assert "dns3_blind: SRMR" in header
    rows = table_rows(results, "| system |")
    assert [r[0] for r in rows] == ["Noisy", "DeepDream-like (CNN teacher)"]
    assert all(math.isfinite(float(c)) for r in rows for c in r[1:])
    assert "CNN (Vox2+DNSMOS)" in results and "deepdream/learning_curves.png" in results

    # stage 11: curation by DNSMOS / active speech, hours kept per threshold
    cur = run_recipe(VOX2, tmp_path, "--stage", 11, "--stop_stage", 11, VOX2=str(vox2),
                     DNS=str(dns))
    assert cur.returncode == 0, cur.stderr[-2000:]
    report = (exp / "curation.md").read_text()
    assert "| dnsmos_ovrl >= 2.5 |" in report and "| active_ratio >= 0.5 |" in report
    assert len(DataDir(data / "train_curated").keys) <= len(DataDir(data / "train").keys)


@pytest.mark.timeout(120)
def test_vox2_says_when_semis_vbd_model_is_missing(tmp_path):
    # semi's starting point comes from $VBD_SUPERVISED; run.sh says when it is missing
    said = run_recipe(VOX2, tmp_path, "--systems", "semi", "--stop_stage", 0,
                      VBD_SUPERVISED=str(tmp_path / "nowhere"))
    assert said.returncode == 0
    assert f"no supervised model at VBD_SUPERVISED={tmp_path / 'nowhere'}" in said.stderr
    plan = (tmp_path / "exp" / "plan" / "train.tsv").read_text()
    assert f"--method_options.init_from {tmp_path / 'nowhere'}" in plan


@pytest.mark.timeout(120)
def test_vox2_without_roots_stops_at_stage_1_with_the_tree(tmp_path):
    failed = run_recipe(VOX2, tmp_path, "--stop_stage", 1, VOX2="", DNS="")
    assert failed.returncode != 0
    assert "VOX2 is not set" in failed.stderr and "dev/" in failed.stderr
    assert "Traceback" not in failed.stderr


# -- sebench data curate ------------------------------------------------------------------------
def _labelled_dir(tmp_path):
    wav, n2s, ovrl = {}, {}, {}
    fs = 16000
    for i, active in enumerate((True, True, False, True)):
        audio = speech_like(1.0, fs, 0, str(i))
        if not active:                                # speech in the first 0.2 s only
            audio[fs // 5:] = 0.0
        wav[f"u{i}"] = str(write_wav(tmp_path / "audio" / f"u{i}.wav", audio, fs))
        n2s[f"u{i}"] = str(len(audio) * (i + 1))     # 1, 2, 3, 4 s as far as hours go
        ovrl[f"u{i}"] = str(1.5 + 0.5 * i)            # 1.5 2.0 2.5 3.0
    ddir = DataDir(tmp_path / "train")
    ddir.write("wav.scp", wav)
    ddir.write("utt2num_samples", n2s)
    ddir.write("utt2fs", {k: str(fs) for k in wav})
    ddir.write("utt2dnsmos_ovrl", ovrl)
    return ddir


@pytest.mark.timeout(60)
def test_curate_keeps_by_dnsmos_and_active_speech(tmp_path):
    from sebench.data.curate import curate, format_report
    ddir = _labelled_dir(tmp_path)
    rows = curate(ddir.path, tmp_path / "kept", {
        "keep": {"dnsmos_ovrl": 2.0, "active_ratio": 0.5},
        "grid": {"dnsmos_ovrl": [2.0, 3.0], "active_ratio": [0.5]}})
    hours = {(name, lo): (n, h) for name, lo, n, h in rows}
    assert hours[("all", None)] == (4, pytest.approx(10 / 3600))
    assert hours[("dnsmos_ovrl", 2.0)] == (3, pytest.approx(9 / 3600))
    assert hours[("dnsmos_ovrl", 3.0)] == (1, pytest.approx(4 / 3600))
    assert hours[("active_ratio", 0.5)][0] == 3                 # the mostly silent clip is out
    assert DataDir(tmp_path / "kept").keys == ["u1", "u3"]
    ratios = read_kv(ddir.path / "utt2active_ratio")             # cached for the next run
    assert float(ratios["u0"]) > 0.9 and float(ratios["u2"]) < 0.5
    assert "| dnsmos_ovrl >= 3 | 1 |" in format_report("train", rows)
    with pytest.raises(SebenchError, match="no utt2dnsmos_p808"):
        curate(ddir.path, tmp_path / "x", {"keep": {"dnsmos_p808": 3.0}, "grid": {}})
    with pytest.raises(SebenchError, match="no utterance clears"):
        curate(ddir.path, tmp_path / "x", {"keep": {"dnsmos_ovrl": 9.0}, "grid": {}})


# -- {env:NAME} ---------------------------------------------------------------------------------
@pytest.mark.timeout(30)
def test_env_placeholder_expands_and_unset_is_an_error(tmp_path, monkeypatch):
    from sebench.recipe.plan import Context, plan
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "t.yaml").write_text("a: 1\n")
    (conf / "recipe.yaml").write_text(yaml.safe_dump({"systems": {
        "semi": {"train": {"config": "t.yaml", "data": "train",
                           "args": "--method_options.init_from {env:SEBENCH_TEST_MODEL}"}},
        "other": {"train": {"config": "t.yaml", "data": "train"}}}}))
    monkeypatch.delenv("SEBENCH_TEST_MODEL", raising=False)
    ctx = Context(str(conf), "D", "E")
    assert [i.name for i in plan(ctx, "train", "other")] == ["other"]   # not selected: fine
    with pytest.raises(ConfigError, match="environment variable SEBENCH_TEST_MODEL is not set"):
        plan(ctx, "train", "semi")
    monkeypatch.setenv("SEBENCH_TEST_MODEL", "/models/sup")
    words = plan(ctx, "train", "semi")[0].words
    assert words[-2:] == ["--method_options.init_from", "/models/sup"]
