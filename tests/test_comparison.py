"""The comparison table of every method (`comparison:` in eval.yaml) on fixture experiments,
and trained predictors as `sebench score --qp` columns."""
import json

import numpy as np
import pytest
import torch
import yaml
from scipy.stats import wilcoxon

from conftest import run_cli, write_wav
from sebench.errors import ConfigError
from sebench.metrics import higher_is_better
from sebench.models.store import build_from_config, export_model
from sebench.recipe.plan import Context, plan
from sebench.results.comparison import best_rows
from sebench.results.policy import load_policy

pytestmark = pytest.mark.timeout(60)

N = 20
QP_CFG = {"kind": "predictor", "name": "cnn", "fs": 16000, "channels": [4, 4], "kernel": 3,
          "fc": [8], "label": {"norm": "linear", "lo": 1.0, "hi": 5.0}}
SE_CFG = {"name": "cnn_blstm", "fs": 16000, "stft": {"n_fft": 256, "hop_length": 128,
          "win_length": 256}, "channels": [4, 1], "kernel": 3, "lstm_hidden": 8,
          "lstm_layers": 1, "fc_hidden": 8}
RECIPE = {"systems": {
    "noisy": {"enhance": "input"},
    "qp_cnn": {"train": {"command": "train-qp", "config": "t.yaml", "model": "q.yaml",
                         "data": "real_train"}},
    "supervised": {"train": {"config": "t.yaml", "model": "m.yaml", "data": "train"}},
    "deepdream": {"train": {"config": "t.yaml", "model": "m.yaml", "data": "real_train",
                            "args": "--method_options.qp {exp:qp_cnn}"}},
    "gan": {"train": {"config": "t.yaml", "model": "m.yaml", "data": "real_train"}},
    "semi": {"train": {"config": "t.yaml", "model": "m.yaml", "data": "real_train",
                       "args": "--method_options.init_from {exp:supervised}"}},
    "supervised+robust_q": {"enhance": "--robust-q {exp:qp_cnn} --after {exp:supervised}"},
    "specsub": {"enhance": "classical:specsub"},
    "mixit": {"train": {"config": "t.yaml", "model": "m.yaml", "data": "real_train"},
              "about": {"teacher": "none", "sets": ["real_train (mixtures of mixtures)"]}},
}}
#: per system: (method, --train words, method_options, steps)
TRAINED = {"supervised": ("supervised", ["data/train"], {}, 30),
           "deepdream": ("deepdream", ["data/real_train"], {"qp": "exp/qp_cnn"}, 12),
           "gan": ("gan", ["data/real_train"], {"label_metric": "p808"}, 9),
           "semi": ("semi", ["data/real_train"], {"label_metric": "p808",
                                                  "init_from": "exp/supervised"}, 5)}
POLICY = {
    "sets": {"test": {"metrics": "pesq_wb,sisdr", "reference": True},
             "real_test": {"metrics": "dnsmos", "qp": {"cnn": "{exp:qp_cnn}"},
                           "columns": ["dnsmos_p808", "dnsmos_ovrl"]}},
    "significance": {"baseline": "supervised", "metrics": ["pesq_wb"], "alpha": 0.05},
    "comparison": {"systems": "all", "significance": ["pesq_wb", "dnsmos_ovrl"],
                   "columns": {"test": ["pesq_wb", "sisdr"], "real_test": ["dnsmos_ovrl"]},
                   "judges": {"set": "real_test", "columns": ["dnsmos_p808", "qp_cnn"]},
                   "about": {"specsub": {"data": "none"}}},
}


def write_scores(out, values, predictors=None):
    """summary.json and utt2<metric> files as `sebench score` writes them."""
    out.mkdir(parents=True)
    summary = {"metrics": {}, "predictors": predictors or {}}
    for metric, vals in values.items():
        (out / f"utt2{metric}").write_text("".join(f"u{i:02d} {v}\n" for i, v in enumerate(vals)))
        summary["metrics"][metric] = {"mean": float(np.mean(vals)), "count": len(vals),
                                      "failures": 0}
    (out / "summary.json").write_text(json.dumps(summary))


def write_experiment(exp, name, method, train, options, steps):
    """config.yaml (with the training command in its header), model/ and info.json as
    `sebench train` writes them."""
    folder = exp / name
    (folder / "model").mkdir(parents=True)
    words = " ".join(f"--train {t}" for t in train)
    header = f"# command: sebench train --config conf/t.yaml {words} --exp exp/{name} --seed 0\n"
    (folder / "config.yaml").write_text(header + yaml.safe_dump(
        {"method": method, "method_options": options, "model": SE_CFG}))
    export_model(folder / "model", dict(SE_CFG), build_from_config(SE_CFG).state_dict(),
                 state={"step": steps, "epoch": 1})


@pytest.fixture(scope="module")
def recipe_dir(tmp_path_factory):
    """A recipe dir after a run: data dirs, exp/<system>/, exp/conf/recipe.yaml, scores."""
    root = tmp_path_factory.mktemp("recipe")
    for name, paired in (("train", True), ("real_train", False)):
        (root / "data" / name).mkdir(parents=True)
        (root / "data" / name / "wav.scp").write_text("u00 /x.wav\n")
        if paired:
            (root / "data" / name / "clean.scp").write_text("u00 /y.wav\n")
    exp = root / "exp"
    for name, (method, train, options, steps) in TRAINED.items():
        write_experiment(exp, name, method, train, options, steps)
    write_experiment(exp, "mixit", "mixit", ["data/real_train"], {}, 7)
    write_experiment(exp, "remixit", "remixit", ["data/real_train"],
                     {"teacher": "exp/supervised"}, 4)
    (exp / "qp_cnn" / "model").mkdir(parents=True)
    export_model(exp / "qp_cnn" / "model", dict(QP_CFG), build_from_config(QP_CFG).state_dict(),
                 state={"step": 40})
    (exp / "qp_cnn" / "config.yaml").write_text(
        "# command: sebench train-qp --train data/real_train --exp exp/qp_cnn\nmethod: qp\n")
    (exp / "conf").mkdir()
    (exp / "conf" / "recipe.yaml").write_text(yaml.safe_dump(RECIPE, sort_keys=False))
    (root / "eval.yaml").write_text(yaml.safe_dump(POLICY, sort_keys=False))

    rng = np.random.default_rng(1)
    base = rng.normal(2.0, 0.3, N)
    means = {"noisy": 9.0, "supervised": 0.5, "deepdream": 0.2, "gan": 0.5, "semi": 0.3,
             "supervised+robust_q": 0.1, "specsub": -0.2}   # PESQ offsets: noisy best, excluded
    qp_dir = str((exp / "qp_cnn" / "model").resolve())
    test, real = {}, {}
    for i, (system, offset) in enumerate(means.items()):
        jitter = rng.normal(0, 0.05, N) if system != "gan" else 0
        test[system] = {"pesq_wb": base + offset + jitter, "sisdr": base * 5 + i}
        real[system] = {"dnsmos_p808": base + 0.1 * i, "dnsmos_ovrl": base + 0.05 * i,
                        "qp_cnn": base + (1.0 if system == "deepdream" else 0.01 * i)}
        if system == "gan":            # exactly supervised's PESQ: a tie for the best
            test[system]["pesq_wb"] = test["supervised"]["pesq_wb"]
        write_scores(exp / "scores" / system / "test", test[system])
        write_scores(exp / "scores" / system / "real_test", real[system], {"qp_cnn": qp_dir})
    return root, test, real


def table(text, title="## Comparison of every method"):
    """({row: {header: cell}}, the text under the table) of a RESULTS.md section."""
    lines = text.split(title, 1)[1].splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("|"))
    end = next(i for i in range(start, len(lines)) if not lines[i].startswith("|"))
    split = [[c.strip() for c in line.strip().strip("|").split("|")] for line in lines[start:end]]
    cells = {row[0]: dict(zip(split[0], row)) for row in split[2:]}
    return cells, "\n".join(lines[end:end + 6])


@pytest.fixture(scope="module")
def report(recipe_dir):
    from sebench.results.table import write_results
    root, test, real = recipe_dir
    text = write_results(load_policy(root / "eval.yaml"), str(root / "exp" / "scores"),
                         ["noisy", "supervised", "gan"], str(root / "RESULTS.md"))
    return table(text), test, real


def test_best_marks_direction_input_and_ties():
    assert best_rows([1.0, 2.004, 1.996, None], True) == {1, 2}       # 2.00 shown twice: a tie
    assert best_rows([0.5, 0.2, 0.21], False) == {1}
    assert best_rows([None, None], True) == set()
    assert higher_is_better("pesq_wb") and higher_is_better("qp_cnn")
    assert not higher_is_better("mse") and not higher_is_better("lsd")


def test_comparison_marks_best_values_and_p_values(report):
    (cells, legend), test, _ = report
    assert list(cells) == ["noisy", "supervised", "deepdream", "gan", "semi",
                           "supervised+robust_q", "specsub"]    # the recipe's order
    pesq = {name: row["test: PESQ-WB"] for name, row in cells.items()}
    assert not pesq["noisy"].startswith("**")           # the input is never best
    assert pesq["supervised"].startswith("**") and pesq["gan"].startswith("**")   # a tie
    assert sum(v.startswith("**") for v in pesq.values()) == 2
    sisdr = {name: row["test: SI-SDR"] for name, row in cells.items()}
    assert [n for n, v in sisdr.items() if v.startswith("**")] == ["specsub"]  # largest offset
    for system in ("deepdream", "semi", "noisy"):
        expected = wilcoxon(test[system]["pesq_wb"], test["supervised"]["pesq_wb"]).pvalue
        assert f"(p {expected:.2g}" in pesq[system]
    assert "(p " not in pesq["supervised"]              # the baseline itself
    assert "(p 1" in pesq["gan"]                         # identical scores: p = 1
    assert "mixit" in legend and "Not run (no scores): mixit." in legend


def test_comparison_derives_data_teacher_model_and_budget(report):
    (cells, _), _, _ = report
    about = {n: (r["data"], r["teacher"], r["model"], r["steps"], r["training sets"])
             for n, r in cells.items()}
    assert about["noisy"] == ("none", "none", "–", "–", "–")
    assert about["supervised"] == ("paired", "none", "cnn_blstm", "30", "train")
    assert about["deepdream"] == ("unpaired", "qp_cnn", "cnn_blstm", "12", "real_train")
    assert about["gan"] == ("unpaired", "DNSMOS P.808", "cnn_blstm", "9", "real_train")
    # fine-tuned from supervised: both kinds of data, its budget added
    assert about["semi"] == ("both", "DNSMOS P.808", "cnn_blstm", "30+5", "train, real_train")
    assert about["supervised+robust_q"][:3] == ("both", "qp_cnn", "cnn_blstm + robust-Q (cnn)")
    assert about["specsub"][:3] == ("none", "none", "classical specsub")
    params = sum(p.numel() for p in build_from_config(SE_CFG).parameters())
    assert cells["supervised"]["params"] == (f"{params / 1e3:.1f} k" if params >= 1e3
                                             else str(params))
    assert cells["specsub"]["params"] == "0" and cells["noisy"]["params"] == "–"



def test_teacher_student_counts_its_teacher_model(recipe_dir):
    from sebench.results.about import describe_experiment
    about = describe_experiment(recipe_dir[0] / "exp" / "remixit")
    assert (about.data_kind, about.teacher, about.steps, about.sets) == (
        "both", "supervised (SE teacher)", [30, 4], ["train", "real_train"])


def test_teacher_vs_judge_marks_the_teacher(report):
    (cells, legend), _, real = report
    dd = cells["deepdream"]
    rise = np.mean(real["deepdream"]["qp_cnn"]) - np.mean(real["noisy"]["qp_cnn"])
    assert dd["judge real_test: qp_cnn"] == f"{np.mean(real['deepdream']['qp_cnn']):.2f} " \
                                            f"({rise:+.2f}) †"
    assert "†" not in dd["judge real_test: P.808"]
    assert cells["gan"]["judge real_test: P.808"].endswith("†")
    assert "†" not in cells["gan"]["judge real_test: qp_cnn"]
    assert "†" not in "".join(cells["supervised"].values())
    assert "(" not in cells["noisy"]["judge real_test: P.808"]     # the reference itself
    assert "fooled" in legend


def test_comparison_across_experiments(recipe_dir, tmp_path):
    """Systems from two experiments: --scores twice and LABEL=DIR rows."""
    root, test, _ = recipe_dir
    other = tmp_path / "other" / "exp"
    write_scores(other / "scores" / "nonadv" / "test",
                 {"pesq_wb": test["supervised"]["pesq_wb"] + 1, "sisdr": test["noisy"]["sisdr"]})
    policy = dict(POLICY, comparison=dict(POLICY["comparison"], systems=[
        "noisy", "supervised", "nonadv", "vbd_sup=" + str(root / "exp/scores/supervised")],
        judges=None))
    policy["comparison"].pop("judges")
    (tmp_path / "eval.yaml").write_text(yaml.safe_dump(policy))
    from sebench.cli.report import build_parser
    from sebench.results.table import write_results
    args = build_parser("report").parse_args([
        "--eval", str(tmp_path / "eval.yaml"), "--scores", str(root / "exp/scores"),
        "--scores", str(other / "scores"), "--systems", "noisy,nonadv", "--out", "R.md"])
    out = tmp_path / "R.md"
    write_results(load_policy(args.eval), args.scores, args.systems.split(","), str(out))
    cells, _ = table(out.read_text())
    assert list(cells) == ["noisy", "supervised", "nonadv", "vbd_sup"]
    assert cells["nonadv"]["test: PESQ-WB"].startswith("**")
    assert cells["nonadv"]["data"] == "?"        # no experiment dir beside those scores
    assert cells["vbd_sup"]["data"] == "paired"
    main = out.read_text().split("## Comparison")[0]
    assert "| nonadv |" in main


def test_bad_comparison_is_a_one_line_error(tmp_path):
    for bad, message in (({"columns": {"test": ["stoi"]}}, "'stoi' is not computed"),
                         ({"judges": {"set": "real_test", "columns": ["qp_x"]}}, "qp_x"),
                         ({"about": {"gan": {"data": "lots"}}}, "about.gan.data"),
                         ({"colums": {}}, "colums")):
        (tmp_path / "e.yaml").write_text(yaml.safe_dump(dict(POLICY, comparison=bad)))
        with pytest.raises(ConfigError, match=message):
            load_policy(tmp_path / "e.yaml")


def test_eval_qp_scores_with_the_predictor_and_pulls_it_in(tmp_path):
    conf = tmp_path / "conf"
    conf.mkdir()
    for name in ("t.yaml", "m.yaml", "q.yaml"):
        (conf / name).write_text("a: 1\n")
    (conf / "recipe.yaml").write_text(yaml.safe_dump(RECIPE))
    (conf / "eval.yaml").write_text(yaml.safe_dump(POLICY))
    ctx = Context(str(conf), "D", "E")
    score = {i.name: i.words for i in plan(ctx, "score", "noisy,supervised")}
    assert score["supervised/real_test"][-2:] == ["--qp", "cnn=E/qp_cnn"]
    assert "--qp" not in score["supervised/test"]
    assert [i.name for i in plan(ctx, "qp", "noisy")] == ["qp_cnn"]     # a dependency now


def test_score_pair_predictor_column(tmp_path):
    """In-process: a --qp column of one utterance is the predictor's score; a failure is NaN
    with its reason."""
    from sebench.scoring.compute import score_pair
    from sebench.scoring.predictors import predictor_metrics
    torch.manual_seed(1)
    q = build_from_config(QP_CFG).eval()
    export_model(tmp_path / "exp" / "qp_small" / "model", dict(QP_CFG), q.state_dict())
    wave = np.random.default_rng(2).normal(0, 0.1, 12000).astype("float32")
    write_wav(tmp_path / "a.wav", wave, subtype="FLOAT")
    (metric,) = predictor_metrics([str(tmp_path / "exp" / "qp_small")])
    assert metric.column == "qp_small"
    row = score_pair(str(tmp_path / "a.wav"), None, ["wada_snr"], predictors=[metric])
    with torch.no_grad():
        expected = float(q.scale.denormalize(q(torch.from_numpy(wave)[None]))[0])
    assert row["qp_small"] == pytest.approx(expected, abs=1e-5) and row["error"] == ""
    write_wav(tmp_path / "short.wav", np.zeros(10, "float32"))
    row = score_pair(str(tmp_path / "short.wav"), None, [], predictors=[metric])
    assert np.isnan(row["qp_small"]) and row["error"].startswith("qp_small: 10 samples")
    with pytest.raises(ConfigError, match="two predictors"):
        predictor_metrics([str(tmp_path / "exp" / "qp_small"), f"small={tmp_path}/exp/qp_small"])


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_score_qp_column_equals_the_predictor(tmp_path):
    torch.manual_seed(0)
    q = build_from_config(QP_CFG).eval()
    export_model(tmp_path / "qp_tiny" / "model", dict(QP_CFG), q.state_dict())
    rng = np.random.default_rng(0)
    audio = {}
    for i in range(4):
        audio[f"u{i}"] = (rng.normal(0, 0.05 * (i + 1), 8000 + 4000 * i)).astype("float32")
        write_wav(tmp_path / "enh" / f"u{i}.wav", audio[f"u{i}"], subtype="FLOAT")
        write_wav(tmp_path / "noisy" / f"u{i}.wav", audio[f"u{i}"][::-1].copy(), subtype="FLOAT")
    out = tmp_path / "scores"
    run_cli("score", "--enh", tmp_path / "enh", "--noisy", tmp_path / "noisy", "--metrics",
            "wada_snr", "--qp", tmp_path / "qp_tiny", "--out", out, "--nj", "2",
            "--cache_dir", tmp_path / "cache")
    got = dict(line.split() for line in (out / "utt2qp_tiny").read_text().splitlines())
    with torch.no_grad():
        for key, wave in audio.items():
            expected = float(q.scale.denormalize(q(torch.from_numpy(wave)[None]))[0])
            assert float(got[key]) == pytest.approx(expected, abs=1e-4)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["predictors"] == {"qp_tiny": str((tmp_path / "qp_tiny" / "model").resolve())}
    assert summary["metrics"]["qp_tiny"]["count"] == 4 and "noisy" in summary["metrics"]["qp_tiny"]
    bad = run_cli("score", "--enh", tmp_path / "enh", "--metrics", "wada_snr", "--qp",
                  tmp_path / "nothing", "--out", tmp_path / "s2", check=False)
    assert bad.returncode != 0 and "--qp" in bad.stderr and "Traceback" not in bad.stderr


def test_optional_judge_is_scored_only_where_installed(tmp_path, caplog):
    """A ``qp`` judge with ``requires:`` is scored where its modules import; elsewhere the
    plan warns once, scores without it, and the policy still accepts its column."""
    conf = tmp_path / "conf"
    conf.mkdir()
    for name in ("t.yaml", "m.yaml", "q.yaml"):
        (conf / name).write_text("a: 1\n")
    (conf / "recipe.yaml").write_text(yaml.safe_dump(RECIPE))
    judges = {"cnn": "{exp:qp_cnn}",
              "gone": {"path": "distillmos", "requires": ["no_such_module_xyz"]},
              "here": {"path": "distillmos", "requires": ["json"]}}
    real = dict(POLICY["sets"]["real_test"], qp=judges)
    comparison = dict(POLICY["comparison"], judges={"set": "real_test",
                                                    "columns": ["qp_cnn", "qp_gone", "qp_here"]})
    (conf / "eval.yaml").write_text(yaml.safe_dump(dict(
        POLICY, sets=dict(POLICY["sets"], real_test=real), comparison=comparison)))
    policy = load_policy(conf / "eval.yaml")
    assert policy.qp["real_test"] == {"cnn": "{exp:qp_cnn}", "here": "distillmos"}
    assert policy.qp_unavailable == {"real_test": {"gone": ["no_such_module_xyz"]}}
    assert "qp_gone" in policy.computed("real_test")
    with caplog.at_level("WARNING"):
        ctx = Context(str(conf), "D", "E")
    assert "not scored by gone: Python module(s) no_such_module_xyz" in caplog.text
    words = {i.name: i.words for i in plan(ctx, "score", "noisy,supervised")}
    assert words["supervised/real_test"][-4:] == ["--qp", "cnn=E/qp_cnn", "--qp", "here=distillmos"]
    bad = dict(real, qp={"x": {"path": "distillmos", "needs": ["a"]}})
    (conf / "eval.yaml").write_text(yaml.safe_dump(dict(POLICY, sets=dict(POLICY["sets"],
                                                                           real_test=bad))))
    with pytest.raises(ConfigError, match="needs"):
        load_policy(conf / "eval.yaml")
