"""`sebench report` laid out by a recipe's evaluation policy (conf/eval.yaml), with Wilcoxon
significance against the policy's baseline."""
import json

import numpy as np
import pytest
import yaml
from scipy.stats import wilcoxon

from conftest import run_cli
from sebench.errors import ConfigError
from sebench.results.policy import load_policy

pytestmark = pytest.mark.timeout(60)

POLICY = {
    "title": "toy results",
    "note": "A note\n  on two lines.",
    "sets": {"test": {"metrics": "pesq_wb,sisdr", "reference": True},
             "real_test": {"metrics": "dnsmos", "columns": ["dnsmos_ovrl"]}},
    "names": {"nonadv": "Non-Adv", "sisdr": "SI-SDR (dB)", "qp": "CNN predictor"},
    "significance": {"baseline": "nonadv", "metrics": ["sisdr", "dnsmos_ovrl"], "alpha": 0.01},
}


def fake_scores(root, system, set_name, values):
    """summary.json and utt2<metric> files as `sebench score` writes them."""
    out = root / system / set_name
    out.mkdir(parents=True)
    summary = {"metrics": {}}
    for metric, vals in values.items():
        (out / f"utt2{metric}").write_text("".join(f"u{i:02d} {v}\n" for i, v in enumerate(vals)))
        summary["metrics"][metric] = {"mean": float(np.mean(vals)), "count": len(vals), "failures": 0}
    (out / "summary.json").write_text(json.dumps(summary))


@pytest.fixture
def scores(tmp_path):
    rng = np.random.default_rng(0)
    base = rng.normal(10, 2, 30)
    fake_scores(tmp_path, "nonadv", "test", {"pesq_wb": base / 5, "sisdr": base})
    fake_scores(tmp_path, "adv", "test", {"pesq_wb": base / 5 + 0.01, "sisdr": base + 1.0
                                          + rng.normal(0, 0.1, 30)})
    fake_scores(tmp_path, "coop", "test", {"pesq_wb": base / 5, "sisdr": base + rng.normal(0, 1, 30)})
    fake_scores(tmp_path, "nonadv", "real_test", {"dnsmos_ovrl": np.full(30, 3.0) + base / 100})
    (tmp_path / "eval.yaml").write_text(yaml.safe_dump(POLICY, sort_keys=False))
    return tmp_path, base


def test_report_follows_the_policy(scores):
    root, base = scores
    out = root / "RESULTS.md"
    run_cli("report", "--eval", root / "eval.yaml", "--scores", root, "--systems",
            "nonadv,adv,coop", "--out", out)
    text = out.read_text()
    lines = text.splitlines()
    assert lines[0] == "# toy results" and "A note on two lines." in text
    assert "| system | test: PESQ-WB | test: SI-SDR (dB) | real_test: OVRL |" in text
    assert f"| Non-Adv | {np.mean(base / 5):.2f} | {np.mean(base):.2f} | " in text
    assert "| coop |" in text and text.count("| – |") >= 1     # coop has no real_test scores
    # significance: each system against the baseline, scipy's p-value, * below alpha
    sig = text[text.index("## Significance against Non-Adv"):]
    adv_row = next(line for line in sig.splitlines() if line.startswith("| adv |"))
    adv = np.array([float(v.split()[1]) for v in (root / "adv/test/utt2sisdr").read_text().splitlines()])
    p = wilcoxon(adv, base).pvalue
    assert p < 0.01 and f"| {p:.2g} * |" in adv_row and adv_row.endswith("| – |")
    coop_row = next(line for line in sig.splitlines() if line.startswith("| coop |"))
    assert "*" not in coop_row


def test_report_without_a_policy_and_bad_arguments(scores, tmp_path):
    root, _ = scores
    out = tmp_path / "R.md"
    run_cli("report", "--scores", root, "--systems", "nonadv,adv", "--set", "test:sisdr",
            "--title", "T", "--out", out)
    text = out.read_text()
    assert "| system | test: SI-SDR |" in text and "Significance" not in text
    both = run_cli("report", "--scores", root, "--systems", "adv", "--set", "test:sisdr",
                   "--eval", root / "eval.yaml", "--out", out, check=False)
    assert both.returncode == 1 and "either --eval" in both.stderr
    none = run_cli("report", "--scores", root, "--systems", "ghost", "--set", "test:sisdr",
                   "--out", out, check=False)
    assert none.returncode == 1 and "no <system>/<set>/summary.json" in none.stderr


def test_report_predictor_accuracy_from_experiment_dirs(scores, tmp_path):
    root, _ = scores
    acc = tmp_path / "qp" / "test_real_test"
    acc.mkdir(parents=True)
    (acc / "accuracy.json").write_text(json.dumps({"n": 9, "lcc": 0.8, "srcc": 0.7, "mse": 0.1,
                                                   "mae": 0.2}))
    (tmp_path / "qp_robust").mkdir()               # a predictor without a test set: no row
    out = tmp_path / "R.md"
    run_cli("report", "--eval", root / "eval.yaml", "--scores", root, "--systems", "nonadv",
            "--qp", f"qp={tmp_path / 'qp'}", "--qp", f"qp_robust={tmp_path / 'qp_robust'}",
            "--out", out)
    text = out.read_text()
    assert "| CNN predictor | 9 | 0.800 | 0.700 | 0.100 | 0.200 |" in text
    assert "qp_robust" not in text


@pytest.mark.parametrize("change, message", [
    ({"sets": {"test": {"metrics": "sisdr", "columns": ["pesq_wb"]}}},
     "column 'pesq_wb' is not computed"),
    ({"sets": {"test": {"metric": "sisdr"}}}, "unknown key 'metric'"),
    ({"significance": {"metrics": ["sisdr"]}}, "needs a baseline"),
    ({"significance": {"baseline": "a", "metrics": ["stoi"]}}, "'stoi' is not a column"),
    ({"sets": {"test": {"metrics": "pesq_xx"}}}, "unknown metric 'pesq_xx'"),
])
def test_bad_policies_are_one_line_errors(tmp_path, change, message):
    policy = dict(POLICY, **change)
    (tmp_path / "eval.yaml").write_text(yaml.safe_dump(policy, sort_keys=False))
    with pytest.raises(ConfigError, match=message):
        load_policy(tmp_path / "eval.yaml")
