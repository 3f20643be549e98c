"""Repeated runs and searches as a recipe feature (sebench.recipe.search): the seeded trial
draw, the plan's items (trials, the choice, one experiment per seed, combined scores), the
choice on the validation logs, the combined score dir with mean ± std, the report's seed
table and spread marks, the cost line, and a toy recipe end to end with a killed search."""
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from conftest import REPO, tone, write_wav
from sebench.errors import ConfigError, SebenchError
from sebench.recipe.cost import training_cost
from sebench.recipe.plan import Context, plan
from sebench.recipe.search import check_search, draw_trials, write_choice
from sebench.results.policy import policy_from_specs
from sebench.results.table import write_results
from sebench.scoring.run import write_outputs
from sebench.scoring.seeds import combine_seeds

pytestmark = pytest.mark.timeout(240)
TEMPLATE = REPO / "egs" / "TEMPLATE" / "se1"
SEARCH = {"space": {"optim.se.lr": "loguniform 1e-4 1e-2",
                    "method_options.beta": "choice [0.6, 0.7, 0.8, 0.9]",
                    "data.batch_size": "randint 2 4"},
          "trials": 3, "seed": 7, "select": "metric:covl:max"}


def test_trial_draws_are_seeded_in_bounds_and_stable_when_trials_are_added():
    three = draw_trials(check_search(SEARCH, "s"))
    five = draw_trials(check_search(dict(SEARCH, trials=5), "s"))
    assert five[:3] == three and three == draw_trials(check_search(SEARCH, "s"))
    assert draw_trials(check_search(dict(SEARCH, seed=8), "s")) != three
    for t in five:
        assert 1e-4 <= t["optim.se.lr"] <= 1e-2
        assert t["method_options.beta"] in (0.6, 0.7, 0.8, 0.9)
        assert t["data.batch_size"] in (2, 3, 4)
    # loguniform: the log of many draws is spread over the whole range
    many = draw_trials(check_search({"space": {"x": "loguniform 1e-4 1e-2"}, "trials": 200,
                                     "select": "valid:loss"}, "s"))
    logs = np.log10([t["x"] for t in many])
    assert logs.min() < -3.7 and logs.max() > -2.3 and abs(np.median(logs) + 3) < 0.3


@pytest.mark.parametrize("spec, message", [
    ({"space": {"lr": "normal 1 2"}, "trials": 2, "select": "valid:loss"}, "expected one of"),
    ({"space": {"lr": "loguniform 0 1"}, "trials": 2, "select": "valid:loss"}, "LOW > 0"),
    ({"space": {"lr": "uniform 2 1"}, "trials": 2, "select": "valid:loss"}, "LOW < HIGH"),
    ({"space": {"lr": "choice []"}, "trials": 2, "select": "valid:loss"}, "non-empty list"),
    ({"space": {"lr": [1, 2]}, "trials": 0, "select": "valid:loss"}, "positive integer"),
    ({"space": {"lr": [1, 2]}, "trials": 2, "select": "test:covl"}, "metric:<name>"),
    ({"space": {"lr": [1, 2]}, "trials": 2, "select": "valid:loss", "budget": 3}, "unknown key"),
])
def test_bad_searches_are_one_line_errors(spec, message):
    with pytest.raises(ConfigError, match=message):
        check_search(spec, "recipe.yaml: system 'x'.search")


def make_ctx(tmp_path, systems, seeds=None):
    conf = tmp_path / "conf"
    conf.mkdir(exist_ok=True)
    (conf / "t.yaml").write_text("method: supervised\ntrain: {epochs: 1}\n")
    (conf / "m.yaml").write_text("name: gru\n")
    (conf / "recipe.yaml").write_text(yaml.safe_dump({"systems": systems}, sort_keys=False))
    (conf / "eval.yaml").write_text(yaml.safe_dump(
        {"sets": {"test": {"metrics": "sisdr", "reference": True}}}))
    return Context(str(conf), data="data", exp="exp", seed=3, seeds=seeds)


SYSTEMS = {
    "noisy": {"enhance": "input"},
    "sup": {"train": {"config": "t.yaml", "model": "m.yaml", "data": "train", "valid": "valid"},
            "seeds": [0, 1], "search": dict(SEARCH, trials=2)},
    "semi": {"train": {"config": "t.yaml", "model": "m.yaml", "data": "train",
                       "args": "--method_options.init_from {exp:sup}"}},
}


def test_plan_trains_trials_then_the_choice_then_each_seed(tmp_path):
    ctx = make_ctx(tmp_path, SYSTEMS)
    train = plan(ctx, "train", "all")
    names = [i.name for i in train]
    assert names == ["sup.trial0", "sup.trial1", "sup.search", "sup.seed0", "sup.seed1", "semi"]
    trial = train[0].words
    assert trial[trial.index("--exp") + 1] == "exp/sup/search/trial0"
    assert trial[trial.index("--seed") + 1] == "3" and "--optim.se.lr" in trial
    assert train[2].kind == "before" and train[2].words[:3] == ["recipe", "choose", "sup"]
    seed1 = train[4].words
    assert seed1[seed1.index("--config") + 1] == "exp/sup/search/chosen.yaml"
    assert seed1[seed1.index("--seed") + 1] == "1" and "--optim.se.lr" not in seed1
    assert seed1[seed1.index("--exp") + 1] == "exp/sup/seed1"
    # another system's {exp:sup} is the first seed's model
    assert "exp/sup/seed0" in train[5].words
    enh = {i.name: i for i in plan(ctx, "enhance", "all")}
    assert enh["sup/seed1/test"].out == "exp/enh/sup/seed1/test"
    assert enh["sup/seed1/test"].words[1] == "exp/sup/seed1"      # {self}: that seed's model
    score = [i.name for i in plan(ctx, "score", "all")]
    assert score == ["noisy/test", "sup/seed0/test", "sup/seed1/test", "semi/test"]
    report = plan(ctx, "report", "all")
    assert [i.kind for i in report] == ["combine", "report"]
    assert report[0].out == "exp/scores/sup/test"
    assert "seed0=exp/scores/sup/seed0/test" in report[0].words[3]
    assert "sup=exp/sup/search" in report[1].words
    assert [i.name for i in plan(ctx, "pack", "all")] == ["sup_seed0", "sup_seed1", "semi"]


def test_seeds_on_the_command_line_repeat_every_trained_row(tmp_path):
    ctx = make_ctx(tmp_path, {"sup": {"train": {"config": "t.yaml", "data": "train"}},
                              "pre": {"train": {"config": "t.yaml", "data": "train"},
                                      "enhance": False}}, seeds=[4, 5])
    names = [i.name for i in plan(ctx, "train", "all")]
    assert names == ["sup.seed4", "sup.seed5", "pre"]      # not a row: one run
    with pytest.raises(ConfigError, match="also set in train.args"):
        make_ctx(tmp_path, {"s": {"train": {"config": "t.yaml", "data": "train",
                                             "args": "--optim.se.lr 1e-3"},
                                   "search": SEARCH}})
    with pytest.raises(ConfigError, match="need a `train:`"):
        make_ctx(tmp_path, {"s": {"enhance": "input", "seeds": [0, 1]}})
    with pytest.raises(ConfigError, match="listed twice"):
        make_ctx(tmp_path, {"s": {"train": {"config": "t.yaml", "data": "train"},
                                  "seeds": [1, 1]}})


def _trial(folder, covl, done=True):
    folder.mkdir(parents=True)
    (folder / "valid_metrics.csv").write_text(
        "step,covl,pesq_wb\n" + "".join(f"{10 * (i + 1)},{v},1.5\n" for i, v in enumerate(covl)))
    if done:
        (folder / ".done").write_text("")


def test_the_choice_reads_validation_logs_and_writes_the_chosen_config(tmp_path):
    search = check_search(dict(SEARCH, trials=3), "s")
    trials = draw_trials(search)
    dirs = [tmp_path / f"trial{k}" for k in range(3)]
    _trial(dirs[0], [2.1, 2.4])
    _trial(dirs[1], [2.6, 2.2])        # the best value reached counts, not the last
    _trial(dirs[2], [3.0], done=False)  # unfinished: never chosen
    preset = tmp_path / "t.yaml"
    preset.write_text("method: grl\noptim: {se: {type: radam, lr: 0.001}}\n")
    best, rows = write_choice(str(tmp_path), str(preset), list(map(str, dirs)), trials,
                              search["select"])
    assert best == 1 and rows[2][3] == "not finished"
    chosen = yaml.safe_load((tmp_path / "chosen.yaml").read_text())
    assert chosen["method"] == "grl" and chosen["optim"]["se"]["type"] == "radam"
    assert chosen["optim"]["se"]["lr"] == pytest.approx(trials[1]["optim.se.lr"])
    assert chosen["method_options"]["beta"] == trials[1]["method_options.beta"]
    table = (tmp_path / "trials.md").read_text()
    assert "**trial1**" in table and "not finished" in table and (tmp_path / ".done").is_file()
    with pytest.raises(SebenchError, match="no value of sisdr"):
        write_choice(str(tmp_path / "x"), str(preset), list(map(str, dirs[:2])), trials[:2],
                     ("metric", "sisdr", "max"))


def _scores(folder, values, noisy=None):
    rows = [{"key": f"u{i}", "enh": {"sisdr": v, "pesq_wb": 1.0 + v / 10}}
            for i, v in enumerate(values)]
    for r, n in zip(rows, noisy or []):
        r["noisy"] = {"sisdr": n, "pesq_wb": 1.0}
    info = {"enh": str(folder), "provenance": {"sebench": "x", "git_commit": "y"}}
    write_outputs(str(folder), rows, ["sisdr", "pesq_wb"], info)


def test_seeds_combine_into_one_row_with_mean_std_and_spread_marks(tmp_path):
    scores = tmp_path / "scores"
    _scores(scores / "noisy" / "test", [1.0, 2.0, 3.0])
    _scores(scores / "a" / "seed0" / "test", [5.0, 6.0, 7.0], noisy=[1.0, 2.0, 3.0])
    _scores(scores / "a" / "seed1" / "test", [7.0, 8.0, 9.0])
    _scores(scores / "b" / "test", [6.5, 7.5, 8.5])     # one run, inside a's spread
    combined = combine_seeds([("seed0", str(scores / "a" / "seed0" / "test")),
                              ("seed1", str(scores / "a" / "seed1" / "test"))],
                             str(scores / "a" / "test"))
    seeds = combined["metrics"]["sisdr"]["seeds"]
    assert seeds["values"] == {"seed0": 6.0, "seed1": 8.0}
    assert seeds["mean"] == pytest.approx(7.0) and seeds["std"] == pytest.approx(2 ** 0.5)
    assert combined["metrics"]["sisdr"]["mean"] == pytest.approx(7.0)
    utt = dict(line.split() for line in (scores / "a" / "test" / "utt2sisdr").read_text().splitlines())
    assert float(utt["u0"]) == pytest.approx(6.0)
    assert combined["metrics"]["sisdr"]["noisy"]["mean"] == pytest.approx(2.0)
    policy = policy_from_specs(["test:sisdr,pesq_wb"])
    text = write_results(policy, str(scores), ["noisy", "a", "b"], str(tmp_path / "R.md"))
    assert "| b | 7.50 |" in text              # the best SI-SDR
    assert "| a | 7.00 ± 1.41 ≈ |" in text     # below b, but within a's seed spread of it
    assert "| noisy | 2.00 |" in text          # far outside: no mark
    assert "## Seeds" in text and "| a | seed1 | 8.00 |" in text


def test_cost_counts_trainings_and_estimates_from_finished_runs(tmp_path):
    done = tmp_path / "exp" / "sup" / "seed0"
    done.mkdir(parents=True)
    (done / "config.yaml").write_text("x")
    (done / ".done").write_text("")
    now = time.time()
    os.utime(done / "config.yaml", (now - 1800, now - 1800))
    os.utime(done / ".done", (now, now))
    lines = [("train", "sup.seed0", done), ("train", "sup.seed1", tmp_path / "exp/sup/seed1"),
             ("train", "other", tmp_path / "exp/other"), ("before", "x.search", tmp_path)]
    tsv = tmp_path / "train.tsv"
    tsv.write_text("".join(f"{k}\t{n}\t{o}\tsebench\n" for k, n, o in lines))
    text = training_cost(str(tsv))
    assert text.startswith("3 trainings (sup 2, other 1); 1 done, 2 to run")
    assert "about 1.00 h left" in text and "other guessed" in text


# -- a toy recipe end to end -------------------------------------------------------------

TOY_DATA_SH = r"""#!/usr/bin/env bash
set -euo pipefail
out=data/local; conf=conf; nj=1; seed=0
. ./path.sh; . ./cmd.sh; . ./db.sh
. utils/parse_options.sh
sebench data from-folder "${VBD}/noisy" --clean "${VBD}/clean" "$out/train"
sebench data from-folder "${VBD}/noisy" --clean "${VBD}/clean" "$out/test"
"""
TRAIN = ("method: supervised\nmodel: {}\n"
         "data: {segment: 0.5, batch_size: 2, valid_max_utts: null}\n"
         "optim: {se: {type: adam, lr: 0.001}}\n"
         "train: {epochs: 1, log_every: 1, checkpoint_every: 1, amp: false}\n")


@pytest.fixture
def toy_recipe(tmp_path):
    recipe = tmp_path / "egs" / "toy" / "se1"
    proc = subprocess.run([str(TEMPLATE / "setup.sh"), str(recipe), "VBD"], capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr
    (recipe / "local" / "data.sh").write_text(TOY_DATA_SH)
    shutil.copy(REPO / "conf" / "models" / "cnn_blstm_tiny.yaml", recipe / "conf" / "m.yaml")
    (recipe / "conf" / "t.yaml").write_text(TRAIN)
    (recipe / "conf" / "recipe.yaml").write_text(yaml.safe_dump(sort_keys=False, data={"systems": {
        "noisy": {"enhance": "input"},
        "sup": {"train": {"config": "t.yaml", "model": "m.yaml", "data": "train",
                          "valid": "test"},
                "seeds": [0, 1],
                "search": {"space": {"optim.se.lr": "loguniform 1e-4 1e-2"}, "trials": 2,
                           "seed": 0, "select": "valid:loss:min"}}}}))
    (recipe / "conf" / "eval.yaml").write_text(yaml.safe_dump(
        {"title": "toy", "sets": {"test": {"metrics": "sisdr", "reference": True}}}))
    corpus = tmp_path / "corpus"
    for i in range(4):
        clean = tone(0.6, fs=16000, freq=200 + 100 * i, amp=0.2)
        write_wav(corpus / "clean" / f"p226_{i:03d}.wav", clean, 16000)
        write_wav(corpus / "noisy" / f"p226_{i:03d}.wav",
                  clean + tone(0.6, fs=16000, freq=3000, amp=0.05), 16000)
    return recipe, corpus


def _run(recipe, corpus, *args):
    env = {k: v for k, v in os.environ.items() if k != "VBD"}
    env.update(PATH=f"{Path(sys.executable).parent}:{env['PATH']}", VBD=str(corpus))
    return subprocess.run(["./run.sh", "--nj", "1", "--ngpu", "0", *map(str, args)], cwd=recipe,
                          capture_output=True, text=True, env=env)


@pytest.mark.slow
@pytest.mark.recipe
@pytest.mark.timeout(600)
def test_toy_recipe_searches_repeats_and_resumes_a_killed_search(toy_recipe):
    recipe, corpus = toy_recipe
    exp = recipe / "exp"
    first = _run(recipe, corpus, "--stop_stage", 5)
    assert first.returncode == 0, first.stdout + first.stderr
    # a search killed after its first trial: the rerun trains only what did not finish
    plan_train = (exp / "plan" / "train.tsv").read_text()
    assert plan_train.count("\ttrain\t") == 0 and plan_train.count("sup.trial") == 2
    # trials and seeds two at a time (each its own runner job)
    cut = _run(recipe, corpus, "--stage", 6, "--stop_stage", 6, "--systems", "sup",
               "--train_jobs", 2)
    assert cut.returncode == 0, cut.stdout + cut.stderr
    assert "stage 6: 4 trainings (sup 4); 0 done, 4 to run" in cut.stdout
    trial0 = exp / "sup" / "search" / "trial0"
    stamp = (trial0 / ".done").stat().st_mtime_ns
    shutil.rmtree(exp / "sup" / "seed1")          # as if killed before the last seed ran
    for marker in (exp / "sup" / "search" / ".done", exp / ".stage6.done"):
        marker.unlink()
    again = _run(recipe, corpus)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "sup.trial0: already trained" in again.stdout
    assert "sup.seed0: already trained" in again.stdout
    assert "3 done, 1 to run" in again.stdout and "about" in again.stdout
    assert (trial0 / ".done").stat().st_mtime_ns == stamp
    chosen = yaml.safe_load((exp / "sup" / "search" / "chosen.yaml").read_text())
    assert chosen["method"] == "supervised" and chosen["optim"]["se"]["type"] == "adam"
    config = yaml.safe_load((exp / "sup" / "seed1" / "config.yaml").read_text())
    assert config["seed"] == 1
    assert config["optim"]["se"]["lr"] == pytest.approx(chosen["optim"]["se"]["lr"])
    results = (exp / "RESULTS.md").read_text()
    assert " ± " in results and "## Seeds" in results and "| sup | seed1 |" in results
    assert "### Search: sup" in results and "chosen.yaml" in results
    summary = json.loads((exp / "scores" / "sup" / "test" / "summary.json").read_text())
    assert summary["seeds"] == ["seed0", "seed1"]
    assert (exp / "packed" / "sup_seed1.zip").is_file()
