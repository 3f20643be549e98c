"""egs/dns/vq1's paper-001 pieces below a full recipe run: the real unpaired set (curated by
speech activity and WADA-SNR, from a generated folder of "real" recordings), the conf/real
and conf/l3 overlays, the pinned unseen ESC-50 categories, the declared grid sweep and the
fidelity sheet's preset files."""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import REPO
from sebench.config import load_yaml
from sebench.corpora.testing import (ESC50_CATEGORIES, make_dns_tree, make_esc50_tree,
                                     speech_like, write_wav)
from sebench.data.datadir import DataDir, read_kv
from sebench.errors import ConfigError, SebenchError
from sebench.recipe.overlay import deep_merge

RECIPE = REPO / "egs" / "dns" / "vq1"
pytestmark = pytest.mark.timeout(120)
FS = 16000
#: the generated "real" recordings: (SNR in dB, speech-active) -> kept by the curation rule?
REAL = {"a": (10.0, True, True), "b": (8.0, True, True), "c": (25.0, True, False),
        "d": (-5.0, True, False), "e": (10.0, False, False)}


def make_real_folder(root):
    """Speech in white noise at a set global SNR; 'e' holds speech in its first 0.3 s only."""
    rng = np.random.default_rng(0)
    for name, (snr, active, _) in REAL.items():
        speech = speech_like(3.0, FS, seed=1, label=name).astype(np.float64)
        if not active:
            speech[int(0.3 * FS):] = 0.0
        noise = rng.standard_normal(speech.size)
        ref = speech_like(3.0, FS, seed=1, label=name).astype(np.float64)
        noise *= np.sqrt(np.mean(ref ** 2) / np.mean(noise ** 2) / 10 ** (snr / 10))
        write_wav(root / "spk1" / f"{name}.wav", (0.5 * (speech + noise)).astype(np.float32), FS)
    return root


@pytest.mark.slow
def test_curation_rule_keeps_speech_near_ten_db_wada(tmp_path):
    from sebench.data.curate import curate, format_report
    folder = make_real_folder(tmp_path / "real")
    ddir = DataDir(tmp_path / "all")
    wav = {f"spk1-{p.stem}": str(p) for p in sorted((folder / "spk1").glob("*.wav"))}
    ddir.write("wav.scp", wav)
    ddir.write("utt2num_samples", {k: str(3 * FS) for k in wav})
    ddir.write("utt2fs", {k: str(FS) for k in wav})
    rule = load_yaml(RECIPE / "conf" / "curate_unpaired.yaml")
    assert rule["keep"]["wada_snr"] == [5.0, 15.0]           # centred on the paper's 10 dB
    rows = curate(ddir.path, tmp_path / "kept", rule)
    expected = sorted(f"spk1-{k}" for k, (_, _, kept) in REAL.items() if kept)
    assert DataDir(tmp_path / "kept").keys == expected
    wada = {k: float(v) for k, v in read_kv(ddir.path / "utt2wada_snr").items()}
    assert abs(wada["spk1-a"] - 10) < 3 and wada["spk1-c"] > 15 and wada["spk1-d"] < 5
    assert "5 <= wada_snr <= 15" in format_report("all", rows)
    with pytest.raises(ConfigError, match="keep.wada_snr: expected a minimum or \\[lo, hi\\]"):
        curate(ddir.path, tmp_path / "x", {"keep": {"wada_snr": [15, 5]}})


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_data_sh_curates_a_folder_of_real_recordings(tmp_path):
    """Stage 1 with --unpaired FOLDER: the recipe's real unpaired set, curated."""
    dns = make_dns_tree(tmp_path / "DNS", readers=("06709", "11980"), utts=1, seconds=0.3)
    esc = make_esc50_tree(tmp_path / "ESC-50", seconds=0.3)
    folder = make_real_folder(tmp_path / "real")
    conf = tmp_path / "conf"
    subprocess.run([sys.executable, "-m", "sebench.cli.main", "recipe", "conf", "--conf",
                    str(RECIPE / "conf"), "--confdir", str(RECIPE / "conf" / "smoke"),
                    "--out", str(conf)], check=True, capture_output=True)
    env = {k: v for k, v in os.environ.items() if k not in ("DNS", "ESC50")}
    env.update(PATH=f"{Path(sys.executable).parent}:{env['PATH']}", DNS=str(dns), ESC50=str(esc),
               SEBENCH_NO_PROGRESS="1")
    out = tmp_path / "local"
    proc = subprocess.run(["local/data.sh", "--out", str(out), "--conf", str(conf),
                           "--unpaired", str(folder)], cwd=RECIPE, capture_output=True,
                          text=True, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    kept = DataDir(out / "real_unpaired").keys
    assert kept == sorted(k for k in DataDir(out / ".real_unpaired_all").keys
                          if k.rsplit("-", 1)[-1] in ("a", "b"))
    assert "wada_snr" in (out / "real_unpaired_curation.md").read_text()


def effective_conf(tmp_path, overlay):
    out = tmp_path / f"conf_{overlay}"
    subprocess.run([sys.executable, "-m", "sebench.cli.main", "recipe", "conf", "--conf",
                    str(RECIPE / "conf"), "--confdir", str(RECIPE / "conf" / overlay),
                    "--out", str(out)], check=True, capture_output=True)
    return out


def test_real_overlay_feeds_every_unpaired_system_the_real_set(tmp_path):
    from sebench.recipe.plan import Context, plan
    base = load_yaml(RECIPE / "conf" / "recipe.yaml")
    unpaired = {n for n, s in base["systems"].items()
                if isinstance((s.get("train") or {}).get("data"), dict)
                and "unpaired" in s["train"]["data"]}
    assert len(unpaired) == 8
    assert {base["systems"][n]["train"]["data"]["unpaired"] for n in unpaired} == \
        {"unpaired_sim_fallback"}                       # the simulated fallback, named so
    conf = effective_conf(tmp_path, "real")
    items = plan(Context(str(conf), "D", "E"), "train", "all")
    streams = {i.name: [w for w in i.words if w.startswith("unpaired=")] for i in items}
    assert {n for n, w in streams.items() if w} == unpaired
    assert all(w == ["unpaired=D/real_unpaired"] for n, w in streams.items() if n in unpaired)
    notes = {k: " ".join(load_yaml(c / "eval.yaml")["note"].split())
             for k, c in (("fallback", RECIPE / "conf"), ("real", conf))}
    assert "unpaired_sim_fallback, the FALLBACK" in notes["fallback"]
    assert "unpaired set is real_unpaired" in notes["real"] and "FALLBACK" not in notes["real"]


@pytest.mark.slow
def test_l3_overlay_builds_a_three_dimensional_latent(tmp_path):
    from sebench.models.store import build_from_config
    base = load_yaml(RECIPE / "conf" / "vqvae.yaml")
    assert base["embedding_dim"] == 64                    # the recipe's reading
    cfg = deep_merge(base, load_yaml(RECIPE / "conf" / "l3" / "vqvae.yaml"))
    cfg.update(channels=4, codebook_size=8)               # tiny for the test; L stays 3
    model = build_from_config(cfg).eval()
    with torch.no_grad():
        out = model(torch.randn(1, 3200) * 0.1)
    assert out["e"].shape[1] == 3 and out["q_s"].shape[1] == 3
    torch.testing.assert_close(out["e"].norm(dim=1), torch.ones_like(out["e"][:, 0]))


def test_unseen_esc50_categories_are_pinned_and_reported():
    from sebench.corpora.splits import draw_count
    pinned = load_yaml(RECIPE / "conf" / "esc50.yaml")["unseen_categories"]
    assert len(pinned) == 10 and set(pinned) <= set(ESC50_CATEGORIES)
    assert sorted(pinned) == sorted(draw_count(sorted(ESC50_CATEGORIES), 10, 0, "esc50-unseen"))
    note = " ".join(load_yaml(RECIPE / "conf" / "eval.yaml")["note"].split())
    assert ", ".join(sorted(pinned)) in note            # RESULTS.md's note lists them
    assert load_yaml(RECIPE / "conf" / "simulate_vqvae.yaml")["dynamic_range_db"] is None


def _fake_run(exp, losses):
    exp.mkdir(parents=True)
    (exp / "valid_log.csv").write_text("step,loss\n" + "".join(
        f"{10 * (i + 1)},{v}\n" for i, v in enumerate(losses)))
    (exp / ".done").write_text("")


def test_grid_sweep_picks_the_best_validation_point(tmp_path):
    from sebench.results.grid_sweep import collect, load_grid, point_name, points, write_report
    grid = tmp_path / "grid.yaml"
    grid.write_text("grid: {method_options.weight: [0.5, 1.0], method_options.margin: [0.2, 1]}\n")
    spec = load_grid(grid)
    names = [point_name(p) for p in points(spec["grid"])]
    assert names == ["weight0.5_margin0.2", "weight0.5_margin1", "weight1_margin0.2",
                     "weight1_margin1"]
    for name, losses in zip(names, ([3, 2.5], [2, 2.2], [4, 1.5, 1.9], ["nan", 2.8])):
        _fake_run(tmp_path / "out" / name, losses)
    rows, chosen = collect(tmp_path / "out", spec)
    assert [r["value"] for r in rows] == [2.5, 2.0, 1.5, 2.8]
    assert chosen["name"] == "weight1_margin0.2" and chosen["step"] == 20
    write_report(tmp_path / "out", spec, rows, chosen, "t")
    saved = json.loads((tmp_path / "out" / "chosen.json").read_text())
    assert saved["options"] == {"method_options.weight": 1.0, "method_options.margin": 0.2}
    assert "| 1.0 | 0.2 | 1.5 | 20 | * |" in (tmp_path / "out" / "table.md").read_text()
    grid.write_text("grid: {method_options.weight: []}\n")
    with pytest.raises(ConfigError, match="grid.yaml: grid must map"):
        load_grid(grid)
    (tmp_path / "out" / names[0] / "valid_log.csv").write_text("step,loss\n")
    with pytest.raises(SebenchError, match="no finite value of 'loss'"):
        collect(tmp_path / "out", spec)


def test_declared_sweep_grids_are_valid():
    from sebench.results.grid_sweep import load_grid
    for config in ("paired_emb", "paired_feat"):
        spec = load_grid(RECIPE / "conf" / f"triplet_sweep_{config}.yaml")
        assert set(spec["grid"]) == {"method_options.weight", "method_options.margin"}
        preset = load_yaml(RECIPE / "conf" / f"train_{config}.yaml")["method_options"]
        assert preset["margin"] in spec["grid"]["method_options.margin"]


def test_fidelity_sheet_names_only_existing_files():
    sheet = (REPO / "docs" / "papers" / "001.md").read_text()
    named = set(re.findall(r"`((?:egs|conf|sebench|tests|bench|docs)/[^`\s:]+\.(?:yaml|py|sh|md))",
                           sheet))
    assert len(named) >= 15
    missing = sorted(p for p in named if not (REPO / p).is_file())
    assert not missing, missing


def test_grid_sweep_needs_a_training_command(tmp_path):
    from conftest import run_cli
    grid = tmp_path / "grid.yaml"
    grid.write_text("grid: {method_options.weight: [1.0]}\n")
    proc = run_cli("grid-sweep", "--grid", grid, "--out", tmp_path / "out", "--", "enhance",
                   check=False)
    assert proc.returncode == 1 and "give the training command after --" in proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "out").exists()
