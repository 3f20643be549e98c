"""egs/dns/vq1 (paper 001) end to end at smoke size on generated trees in the real DNS1 and
ESC-50 layouts (``sebench.corpora.testing``): the paired-fraction subsets, seen/unseen noise
types, the VQ-VAE triples, paired, unpaired real-like and per-SNR test sets, a VQ-VAE and the
Baseline and Unpaired-Embedding GRUs at two paired fractions, the per-SNR tables of
RESULTS.md, the margin-vs-SNR figure (stage 11) and the fraction sweep (stage 12)."""
import csv
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO
from sebench.corpora.testing import make_dns_tree, make_esc50_tree
from sebench.config import load_yaml
from sebench.data.datadir import DataDir, read_kv

RECIPE = REPO / "egs" / "dns" / "vq1"
ROWS = ["noisy", "baseline_p20", "unpaired_emb_p20", "baseline_p40", "unpaired_emb_p40"]
SNRS = {-10.0, -5.0, 0.0, 5.0, 10.0}
READERS = ("06709", "11980", "01326", "02001", "03002", "04003")


def run_recipe(tmp, *args, dns=None, esc50=None):
    env = {k: v for k, v in os.environ.items() if k not in ("DNS", "ESC50")}
    env.update(SEBENCH_NO_PROGRESS="1", PATH=f"{Path(sys.executable).parent}:{env['PATH']}")
    env.update({k: str(v) for k, v in (("DNS", dns), ("ESC50", esc50)) if v})
    cmd = ["./run.sh", "--confdir", "conf/smoke", "--nj", "1", "--data", str(tmp / "data"),
           "--exp", str(tmp / "exp"), *map(str, args)]
    return subprocess.run(cmd, cwd=RECIPE, capture_output=True, text=True, env=env)


def table(lines, title):
    """The rows (lists of cells) of the markdown table under ``title``."""
    start = next(i for i, line in enumerate(lines) if line.startswith("|") and
                 (title is None or i > lines.index(title)))
    end = next((i for i in range(start, len(lines)) if not lines[i].strip()), len(lines))
    return [[c.strip() for c in row.split("|")[1:-1]] for row in lines[start + 2:end]]


@pytest.mark.timeout(120)
def test_wrong_roots_print_the_expected_trees(tmp_path):
    """Stage 1 (local/data.sh) alone: one line naming the problem and the expected tree."""
    def data_sh(out, **roots):
        env = {k: v for k, v in os.environ.items() if k not in ("DNS", "ESC50")}
        env.update(PATH=f"{Path(sys.executable).parent}:{env['PATH']}", **roots)
        return subprocess.run(["local/data.sh", "--out", str(out), "--conf", "conf"], cwd=RECIPE,
                              capture_output=True, text=True, env=env)
    (tmp_path / "empty").mkdir()
    empty = str(tmp_path / "empty")
    no_dns = data_sh(tmp_path / "a", DNS=empty, ESC50=empty)
    assert no_dns.returncode != 0 and "Traceback" not in no_dns.stderr
    assert "test_set/" in no_dns.stderr and "clean/" in no_dns.stderr     # DNS's tree
    dns = make_dns_tree(tmp_path / "DNS", readers=READERS[:2], utts=1, seconds=0.3)
    no_esc = data_sh(tmp_path / "b", DNS=str(dns), ESC50=empty)
    assert no_esc.returncode != 0 and "Traceback" not in no_esc.stderr
    assert "esc50.csv" in no_esc.stderr and "audio/" in no_esc.stderr
    assert not (tmp_path / "b" / "noise_train").exists()


@pytest.mark.slow
@pytest.mark.timeout(1800)   # about 50 sebench calls: 13.6 min on the contended 2-core machine, one run over 15
@pytest.mark.recipe
def test_vq1_recipe_smoke(tmp_path):
    dns = make_dns_tree(tmp_path / "DNS", readers=READERS, utts=2, seconds=1.0)
    # ESC-50 pads short sounds with digital silence: 1 s crops that fall in it are redrawn
    esc50 = make_esc50_tree(tmp_path / "ESC-50", seconds=2.0, silence=1.2)
    proc = run_recipe(tmp_path, dns=dns, esc50=esc50)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    exp, data = tmp_path / "exp", tmp_path / "data"
    for n in (1, 2, 3, 6, 7, 8, 9, 10, 11, 12, 13):   # no labels (4) or predictors (5)
        assert (exp / f".stage{n}.done").is_file(), n

    # paired fractions: ceil(F % of the files), subsets of the training speech and seen noise
    for name in ("clean_train", "noise_train"):
        full = set(DataDir(data / name).keys)
        for f in (10, 20, 30, 40):
            part = set(DataDir(data / f"{name}_p{f}").keys)
            assert len(part) == math.ceil(len(full) * f / 100) and part <= full, (name, f)
    # seen / unseen noise: disjoint categories; unseen never trained on
    category = {s: set(read_kv(data / s / "utt2category").values())
                for s in ("noise_train", "noise_test_seen", "noise_test_unseen")}
    assert len(category["noise_test_unseen"]) == 2
    assert category["noise_test_seen"] <= category["noise_train"]
    assert not category["noise_test_unseen"] & category["noise_train"]
    # the test sets: every mixture at one of Table 2's SNRs (utt2snr), DNS1's test speech
    for name in ("test_seen", "test_unseen"):
        snrs = {float(v) for v in read_kv(data / name / "utt2snr").values()}
        assert snrs <= SNRS and len(snrs) >= 3, (name, snrs)
        assert all("fileid" in p for p in read_kv(data / name / "clean.scp").keys())
    # the training streams are declared, mixed on the fly from the fraction's files at global
    # SNR (the VQ-VAE's 1 s triples without the white-noise floor); the fallback unpaired
    # real-like set is written and has no reference
    for name, segment in (("vqvae_train_p40", 1.0), ("paired_p20", 1.0)):
        stream = load_yaml(data / name / "stream.yaml")
        assert not (data / name / "wav.scp").exists()
        assert stream["clean"] == str(data / name.replace("vqvae_train", "clean_train")
                                      .replace("paired", "clean_train"))
        assert stream["config"]["snr_reference"] == "global"
        assert stream["config"]["segment"] == segment and stream["config"]["snr_range"] == [-10, 30]
        assert stream["config"]["dynamic_range_db"] is None and not stream["config"]["unpaired"]
    for row in csv.DictReader(open(data / "vqvae_valid" / "meta.csv")):
        assert int(row["num_samples"]) == 16000 and -10 <= float(row["snr_db"]) <= 30
    assert (data / "unpaired_sim_fallback" / "wav.scp").is_file()
    assert not (data / "unpaired_sim_fallback" / "clean.scp").exists()

    # the systems: one VQ-VAE per fraction; Unpaired-Embedding read both streams
    for f in (20, 40):
        assert (exp / f"vqvae_p{f}" / "model" / "model.pt").is_file()
        log = list(csv.DictReader(open(exp / f"unpaired_emb_p{f}" / "train_log.csv")))
        assert log and all(math.isfinite(float(r["triplet"])) for r in log)
        cmd = (exp / f"unpaired_emb_p{f}" / "config.yaml").read_text()
        assert f"unpaired={data / 'unpaired_sim_fallback'}" in cmd
        assert f"paired={data / f'paired_p{f}'}" in cmd
        assert f"--method_options.vqvae {exp / f'vqvae_p{f}'}" in cmd
    assert not (exp / "vqvae_p10").exists()           # the smoke run: two fractions

    # RESULTS.md: the table, then PESQ and SI-SDR per input SNR for seen and unseen noise
    lines = (exp / "RESULTS.md").read_text().splitlines()
    assert "unpaired_sim_fallback, the FALLBACK" in " ".join(lines)   # named as the fallback
    main = table(lines, None)
    assert [r[0] for r in main] == ROWS
    assert all(math.isfinite(float(c)) for r in main for c in r[1:])
    for name in ("test_seen", "test_unseen"):
        rows = table(lines, f"## {name} by snr")
        groups = {float(r[0]) for r in rows}
        assert groups <= SNRS and len(rows) == len(groups) * len(ROWS)
        for r in rows:   # the unprocessed input's SI-SDR is its (global) input SNR
            if r[1] == "noisy":
                assert abs(float(r[3]) - float(r[0])) < 0.5, r

    # stage 11: the margin against SNR of each trained VQ-VAE, on the validation triples
    for f in (20, 40):
        margin = exp / f"vqvae_p{f}" / "margin"
        summary = json.loads((margin / "summary.json").read_text())
        assert summary["utterances"] == len(DataDir(data / "vqvae_valid").keys)
        assert math.isfinite(summary["slope_per_db"]) and (margin / "margin_vs_snr.png").is_file()
    # ... and the paper's figure: one line per fraction
    assert (exp / "margin_vs_snr.png").is_file()
    lines = [r for r in (exp / "margin_vs_snr.md").read_text().splitlines() if r.startswith("| ")]
    assert [r.split(" | ")[0][2:] for r in lines[1:]] == ["20", "40"]
    # stage 12: PESQ / SI-SDR per paired fraction, equal to the table's means
    means = {r[0]: r for r in main}
    for k, name in enumerate(("test_seen", "test_unseen")):   # Figs. 3-4: improvement over noisy
        rows = table((exp / "sweep" / f"improvement_{name}.md").read_text().splitlines(), None)
        assert {(r[0], r[1]) for r in rows} == {(c, f) for c in ("baseline", "unpaired_emb")
                                                for f in ("20", "40")}
        for r in rows:
            gain = float(means[r[2]][1 + 2 * k]) - float(means["noisy"][1 + 2 * k])
            assert float(r[4]) == pytest.approx(gain, abs=0.011)   # pesq_wb improvement
    for config in ("baseline", "unpaired_emb"):
        for k, name in enumerate(("test_seen", "test_unseen")):
            sweep = exp / "sweep" / f"{config}_{name}"
            assert sweep.with_suffix(".png").is_file()
            rows = table(sweep.with_suffix(".md").read_text().splitlines(), None)
            assert [r[0] for r in rows] == ["20", "40"]
            for r in rows:
                assert float(r[2]) == pytest.approx(float(means[r[1]][1 + 2 * k]), abs=0.006)
                assert float(r[3]) == pytest.approx(float(means[r[1]][2 + 2 * k]), abs=0.006)
    # stage 13: the triplet weight x margin sweep per loss, on the validation set
    for config in ("paired_emb", "paired_feat"):
        sweep = exp / "triplet_sweep" / config
        chosen = json.loads((sweep / "chosen.json").read_text())
        assert chosen["options"]["method_options.weight"] in (0.5, 1.0)
        assert chosen["criterion"] == "loss" and math.isfinite(chosen["value"])
        rows = table((sweep / "table.md").read_text().splitlines(), None)
        assert [r[:2] for r in rows] == [["0.5", "0.2"], ["1.0", "0.2"]]
        assert sum(r[4] == "*" for r in rows) == 1
