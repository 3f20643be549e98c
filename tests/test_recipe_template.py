"""The recipe template (egs/TEMPLATE/se1) on a toy corpus: a recipe made by setup.sh, stage
selection, done markers with signatures, --force_stage, db.sh roots from the environment,
a missing or wrong root, config overlays, and the systems declaration behind `se.sh`."""
import fcntl
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from conftest import REPO, tone, write_wav
from sebench.errors import ConfigError
from sebench.recipe.overlay import materialize
from sebench.recipe.plan import Context, plan
from sebench.recipe.systems import Recipe

pytestmark = pytest.mark.timeout(180)
TEMPLATE = REPO / "egs" / "TEMPLATE" / "se1"

TOY_DATA_SH = r"""#!/usr/bin/env bash
# toy corpus: $VBD/{noisy,clean}/*.wav at 48 kHz
set -euo pipefail
out=data/local; conf=conf; nj=1; seed=0
. ./path.sh; . ./cmd.sh; . ./db.sh
. utils/parse_options.sh
tree="expected layout:
  \$VBD/
    clean/<utt>.wav
    noisy/<utt>.wav"
if [ -z "${VBD}" ]; then
  echo "$0: VBD is not set: set it in db.sh or run 'VBD=/path/to/toy ./run.sh'" >&2; exit 1
fi
if [ ! -d "${VBD}/noisy" ] || [ ! -d "${VBD}/clean" ]; then
  echo "$0: ${VBD}: not the toy layout; ${tree}" >&2; exit 1
fi
sebench data from-folder "${VBD}/noisy" --clean "${VBD}/clean" "$out/test"
"""
RECIPE = {"systems": {"noisy": {"enhance": "input"}}}
EVAL = {"title": "toy results",
        "sets": {"test": {"metrics": "sisdr,snr", "reference": True}}}


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    """A recipe made by setup.sh, with a toy local/data.sh, and a toy corpus."""
    root = tmp_path_factory.mktemp("toy")
    recipe = root / "egs" / "toy" / "se1"
    proc = subprocess.run([str(TEMPLATE / "setup.sh"), str(recipe), "VBD"], capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr
    (recipe / "local" / "data.sh").write_text(TOY_DATA_SH)
    (recipe / "conf" / "recipe.yaml").write_text(yaml.safe_dump(RECIPE))
    (recipe / "conf" / "eval.yaml").write_text(yaml.safe_dump(EVAL))
    (recipe / "conf" / "smoke").mkdir()
    (recipe / "conf" / "smoke" / "eval.yaml").write_text("sets: {test: {metrics: sisdr}}\n")
    corpus = root / "corpus"
    for i in range(3):
        clean = tone(0.5, fs=48000, freq=200 + 100 * i, amp=0.2)
        write_wav(corpus / "clean" / f"p226_{i:03d}.wav", clean, 48000)
        write_wav(corpus / "noisy" / f"p226_{i:03d}.wav", clean + tone(0.5, fs=48000, freq=3000,
                                                                       amp=0.02), 48000)
    return recipe, corpus


def run(recipe, *args, **env):
    full_env = {k: v for k, v in os.environ.items() if k != "VBD"}
    full_env["PATH"] = f"{Path(sys.executable).parent}:{full_env['PATH']}"
    full_env.update(env)
    return subprocess.run(["./run.sh", "--nj", "1", *map(str, args)], cwd=recipe,
                          capture_output=True, text=True, env=full_env)


def test_setup_links_the_template(toy):
    recipe, _ = toy
    for name in ("se.sh", "db.sh", "path.sh", "utils"):
        assert (recipe / name).is_symlink() and (recipe / name).exists(), name
    assert (recipe / "se.sh").resolve() == (TEMPLATE / "se.sh").resolve()
    assert not (recipe / "cmd.sh").is_symlink()    # the recipe's own: its backend is one line


@pytest.mark.parametrize("backend, cuda", [("local", "run.pl --num-threads"),
                                           ("slurm", "slurm.pl --mem 16G")])
def test_cmd_sh_switches_backend_in_one_line(toy, tmp_path, backend, cuda):
    recipe, _ = toy
    text = (recipe / "cmd.sh").read_text().replace("cmd_backend=local", f"cmd_backend={backend}")
    (tmp_path / "cmd.sh").write_text(text)
    script = f'. {tmp_path / "cmd.sh"}; echo "$train_cmd|$cuda_cmd|$decode_cmd"'
    out = subprocess.run(["bash", "-c", script], cwd=recipe, capture_output=True, text=True)
    train, cuda_cmd, decode = out.stdout.strip().split("|")
    assert cuda_cmd.startswith(cuda) and train and decode, out.stderr


def test_db_sh_takes_roots_from_the_environment():
    script = f". {TEMPLATE / 'db.sh'}; echo \"[$VBD][$DNS][$VOX2]\""
    env = {k: v for k, v in os.environ.items() if k not in ("VBD", "DNS", "VOX2")}
    out = subprocess.run(["bash", "-c", script], capture_output=True, text=True,
                         env=dict(env, VBD="/data/vbd")).stdout
    assert out.strip() == "[/data/vbd][][]"


def test_missing_or_wrong_root_stops_at_stage_1(toy, tmp_path):
    recipe, _ = toy
    unset = run(recipe, "--exp", tmp_path / "exp", "--data", tmp_path / "data")
    assert unset.returncode != 0
    assert "VBD is not set" in unset.stderr and "Traceback" not in unset.stderr
    wrong = run(recipe, "--exp", tmp_path / "exp", "--data", tmp_path / "data", VBD=str(tmp_path))
    assert wrong.returncode != 0 and "Traceback" not in wrong.stderr
    assert "expected layout" in wrong.stderr and "noisy/<utt>.wav" in wrong.stderr
    assert not (tmp_path / "exp" / ".stage1.done").exists()


@pytest.mark.slow
def test_stages_markers_force_and_a_new_system(toy, tmp_path):
    recipe, corpus = toy
    opts = ["--exp", tmp_path / "exp", "--data", tmp_path / "data"]
    exp, data = tmp_path / "exp", tmp_path / "data"
    first = run(recipe, *opts, "--stop_stage", 2, "--format_opts", "--derive-noise", VBD=str(corpus))
    assert first.returncode == 0, first.stdout + first.stderr
    assert (exp / ".stage1.done").is_file() and (exp / ".stage2.done").is_file()
    assert set((data / "test" / "utt2fs").read_text().split()[1::2]) == {"16000"}
    assert (data / "test" / "noise.scp").is_file() and not (exp / "scores").exists()

    # stages 1-2 are done; 3-6 have nothing declared; 8-9 score and report the input; the
    # recipe's own stage 11 uses the template's stage helpers
    (recipe / "local" / "stages.sh").write_text(
        'if begin_stage 11 v1 "a recipe stage"; then\n'
        '  sebench data info "$data/test" > "$exp/info.txt"\n  end_stage 11 v1\nfi\n')
    opts += ["--local_stages", "local/stages.sh"]
    rest = run(recipe, *opts, "--format_opts", "--derive-noise", VBD=str(corpus))
    assert rest.returncode == 0, rest.stdout + rest.stderr
    out = rest.stdout
    assert "stage 1: already done" in out and "stage 2: already done" in out
    assert "stage 3: nothing declared" in out and "stage 6: nothing declared" in out
    results = (exp / "RESULTS.md").read_text()
    assert "| noisy |" in results and "test: SI-SDR" in results and "test: SNR" in results
    assert "=== stage 11: a recipe stage" in out and "utterances 3" in (exp / "info.txt").read_text()
    summary = exp / "scores" / "noisy" / "test" / "summary.json"
    stamp = summary.stat().st_mtime_ns

    # a rerun does nothing; --force_stage 2 redoes the format stage only
    again = run(recipe, *opts, "--format_opts", "--derive-noise", VBD=str(corpus))
    assert again.stdout.count("already done") == 5          # stages 1, 2, 8, 9, 11
    forced = run(recipe, *opts, "--force_stage", 2, "--stop_stage", 8,
                 "--format_opts", "--derive-noise", VBD=str(corpus))
    assert forced.returncode == 0 and "=== stage 2" in forced.stdout
    assert "stage 8: already done" in forced.stdout and summary.stat().st_mtime_ns == stamp

    # a system added to recipe.yaml reruns the stages whose items changed, for it alone
    declared = dict(RECIPE["systems"], noisy_copy={"enhance": "input"})
    (recipe / "conf" / "recipe.yaml").write_text(yaml.safe_dump({"systems": declared}))
    try:
        added = run(recipe, *opts, "--format_opts", "--derive-noise", VBD=str(corpus))
    finally:
        (recipe / "conf" / "recipe.yaml").write_text(yaml.safe_dump(RECIPE))
    assert added.returncode == 0, added.stdout + added.stderr
    assert "=== stage 8" in added.stdout and "score noisy_copy/test" in added.stdout
    assert "score noisy/test" not in added.stdout and summary.stat().st_mtime_ns == stamp
    assert "| noisy_copy |" in (exp / "RESULTS.md").read_text()

    # rescoring (--force_stage 8) leaves the report stale: stage 9 is redone unasked; a
    # rerun after that does nothing again
    rescored = run(recipe, *opts, "--force_stage", 8, "--format_opts", "--derive-noise",
                   VBD=str(corpus))
    assert rescored.returncode == 0, rescored.stdout + rescored.stderr
    assert "=== stage 8" in rescored.stdout and "=== stage 9" in rescored.stdout
    assert (exp / "RESULTS.md").stat().st_mtime_ns > summary.stat().st_mtime_ns > stamp
    again = run(recipe, *opts, "--format_opts", "--derive-noise", VBD=str(corpus))
    assert "stage 9: already done" in again.stdout

    # the overlay's keys are merged over conf/ into exp/conf
    smoke = run(recipe, *opts, "--confdir", "conf/smoke", "--stop_stage", 0, VBD=str(corpus))
    assert smoke.returncode == 0
    effective = yaml.safe_load((exp / "conf" / "eval.yaml").read_text())
    assert effective["sets"]["test"] == {"metrics": "sisdr", "reference": True}
    assert effective["title"] == "toy results"


# -- the systems declaration ------------------------------------------------------------

SYSTEMS = {
    "noisy": {"enhance": "input"},
    "vqvae": {"train": {"config": "t.yaml", "model": "m.yaml", "data": "train"}, "enhance": False},
    "sup": {"train": {"config": "t.yaml", "model": "m.yaml", "data": "train", "valid": "valid"}},
    "qp": {"train": {"command": "train-qp", "config": "t.yaml", "model": "m.yaml",
                     "data": "real", "args": "--test {data}/real_test"}},
    "semi": {"train": {"config": "t.yaml", "model": "m.yaml",
                       "data": {"paired": "train", "real": "real"},
                       "args": "--method_options.init_from {exp:sup} --method_options.qp {exp:qp}"}},
    "pesqnet": {"before": ["enhance {exp:sup} {data}/train -o {exp}/enh/sup/train"],
                "train": {"command": "train-qp", "config": "t.yaml", "model": "m.yaml",
                          "data": "pesqnet_train"}},
    "oracle": {"enhance": "classical:oracle_irm,config={conf:m.yaml} --ref {data}/{set}",
               "sets": ["test"]},
    "sup+rq": {"enhance": "robust_q:{exp:qp},after={exp:sup}"},
}


def make_ctx(tmp_path, systems=SYSTEMS, **extra):
    conf = tmp_path / "conf"
    conf.mkdir(exist_ok=True)
    for name in ("t.yaml", "m.yaml"):
        (conf / name).write_text("a: 1\n")
    (conf / "recipe.yaml").write_text(yaml.safe_dump(dict(extra, systems=systems), sort_keys=False))
    (conf / "eval.yaml").write_text(yaml.safe_dump({"sets": {
        "test": {"metrics": "pesq_wb,sisdr", "reference": True},
        "real_test": {"metrics": "dnsmos", "columns": ["dnsmos_ovrl"]}}}, sort_keys=False))
    return Context(str(conf), "D", "E", seed=3)


def words(items):
    return {i.name: i.words for i in items}


def test_plan_orders_stages_and_expands_references(tmp_path):
    ctx = make_ctx(tmp_path)
    qp = plan(ctx, "qp")
    assert [i.name for i in qp] == ["qp"]
    assert words(qp)["qp"][:2] == ["train-qp", "--config"] and "D/real_test" in words(qp)["qp"]
    train = plan(ctx, "train")
    # dependencies first; a predictor that needs an SE model trains after it, in stage 6
    assert [(i.kind, i.name) for i in train] == [("train", "vqvae"), ("train", "sup"),
        ("train", "semi"), ("before", "pesqnet.before1"), ("train", "pesqnet")]
    semi = words(train)["semi"]
    assert semi[semi.index("--train") + 1] == "paired=D/train"
    assert "real=D/real" in semi and "E/sup" in semi and "E/qp" in semi
    assert semi[semi.index("--exp") + 1] == "E/semi" and semi[semi.index("--seed") + 1] == "3"
    assert words(train)["pesqnet.before1"] == ["enhance", "E/sup", "D/train", "-o",
                                               "E/enh/sup/train"]
    enh = words(plan(ctx, "enhance"))
    assert set(enh) == {"sup/test", "sup/real_test", "semi/test", "semi/real_test",
                        "oracle/test", "sup+rq/test", "sup+rq/real_test"}
    assert enh["oracle/test"][:4] == ["enhance", f"classical:oracle_irm,config={ctx.conf}/m.yaml",
                                      "--ref", "D/test"]
    assert enh["sup+rq/real_test"] == ["enhance", "robust_q:E/qp,after=E/sup", "D/real_test",
                                       "-o", "E/enh/sup+rq/real_test"]
    score = words(plan(ctx, "score"))
    assert score["noisy/test"][:5] == ["score", "--enh", "D/test", "--ref", "D/test"]
    assert "--ref" not in score["sup/real_test"] and "dnsmos" in score["sup/real_test"]
    report = plan(ctx, "report")[0].words
    assert report[report.index("--systems") + 1] == "noisy,sup,semi,oracle,sup+rq"
    assert "qp=E/qp" in report and "pesqnet=E/pesqnet" in report
    assert [i.name for i in plan(ctx, "pack")] == ["sup", "semi"]


def test_selection_adds_dependencies_and_defaults(tmp_path):
    ctx = make_ctx(tmp_path, default_systems=["noisy", "sup"])
    assert ctx.recipe.select() == ["noisy", "sup"]
    assert ctx.recipe.select("all") == list(Recipe.load(tmp_path / "conf" / "recipe.yaml").order)
    assert ctx.recipe.select("sup+rq") == ["sup", "qp", "sup+rq"]
    assert [i.name for i in plan(ctx, "train", "semi")] == ["sup", "semi"]
    with pytest.raises(ConfigError, match="unknown system 'nope'"):
        ctx.recipe.select("nope")


def test_systems_requiring_missing_modules_are_skipped_or_refused(tmp_path, monkeypatch):
    from sebench.recipe import systems as systems_module
    from sebench.recipe.systems import install_hint
    lines = []
    monkeypatch.setattr(systems_module.log, "warning", lambda msg, *a: lines.append(msg % a))
    systems = {"noisy": {"enhance": "input"},
               "opt": {"train": {"config": "t.yaml", "data": "train"},
                       "requires": ["sebench_no_such_module_x", "yaml"]},
               "opt_user": {"enhance": "robust_q:{exp:opt}"},       # needs it through opt
               "here": {"enhance": "x", "requires": ["yaml", "sebench.recipe"]}}
    ctx = make_ctx(tmp_path, systems, default_systems=["noisy", "opt", "here"])
    assert ctx.recipe.select() == ["noisy", "here"]
    assert ctx.recipe.select("all") == ["noisy", "here"]
    assert ctx.recipe.select("all") == ["noisy", "here"]    # logged once per selection
    assert [i.name for i in plan(ctx, "enhance", "all")] == ["here/test", "here/real_test"]
    assert lines == ["skipping system(s) opt: Python module(s) sebench_no_such_module_x not "
                     "installed (install: pip install sebench_no_such_module_x)",
                     "skipping system(s) opt, opt_user: Python module(s) sebench_no_such_module_x "
                     "not installed (install: pip install sebench_no_such_module_x)"]
    for name in ("opt", "opt_user", "noisy,opt_user"):
        with pytest.raises(ConfigError, match=r"--systems: system 'opt(_user)?' needs Python "
                           r"module\(s\) sebench_no_such_module_x, not installed \(install: pip"):
            ctx.recipe.select(name)
    assert ctx.recipe.select("here") == ["here"]
    assert install_hint(["distillmos", "xls_r_sqa"]) == "make distillmos"
    with pytest.raises(ConfigError, match="system 'a'.requires: '3d' is not a Python module"):
        make_ctx(tmp_path, {"a": {"enhance": "x", "requires": ["3d"]}})


@pytest.mark.parametrize("systems, message", [
    ({"a": {"train": {"config": "t.yaml", "data": "x", "args": "--init {exp:b}"}},
      "b": {"train": {"config": "t.yaml", "data": "x", "args": "--init {exp:a}"}}},
     "dependency cycle: a -> b -> a"),
    ({"a": {"trian": {}}}, "system 'a': unknown key 'trian'"),
    ({"a": {"train": {"config": "t.yaml"}}}, "system 'a'.train: missing key 'data'"),
    ({"a": {"enhance": "{expt:b}"}}, "unknown placeholder {expt:b}"),
    ({"a": {"enhance": "{exp:ghost}"}}, "unknown system 'ghost'"),
    ({"a": {"train": {"command": "train-qp", "config": "t.yaml", "data": "x"}}},
     "train-qp needs model"),
    ({"a": {"enhance": 3}}, "expected an enhancer spec, input or false"),
])
def test_bad_declarations_are_one_line_errors(tmp_path, systems, message):
    with pytest.raises(ConfigError, match=message.replace("{", r"\{").replace("+", r"\+")):
        make_ctx(tmp_path, systems)


def test_unknown_eval_set_and_missing_config_are_errors(tmp_path):
    ctx = make_ctx(tmp_path, {"a": {"enhance": "x", "sets": ["dev"]}})
    with pytest.raises(ConfigError, match="no test set 'dev'"):
        plan(ctx, "enhance")
    ctx = make_ctx(tmp_path, {"a": {"train": {"config": "missing.yaml", "data": "x"}}})
    with pytest.raises(ConfigError, match="config file missing.yaml not found"):
        plan(ctx, "train")
    (tmp_path / "conf" / "eval.yaml").write_text(yaml.safe_dump({
        "sets": {"test": {"metrics": "sisdr"}}, "significance": {"baseline": "ghost"}}))
    with pytest.raises(ConfigError, match="baseline 'ghost' is not a system"):
        Context(str(tmp_path / "conf"))


def test_overlay_merges_keys_and_rewrites_only_changes(tmp_path):
    conf, over, out = tmp_path / "conf", tmp_path / "conf" / "smoke", tmp_path / "eff"
    over.mkdir(parents=True)
    (conf / "train.yaml").write_text("data: {segment: 2.0, batch_size: 8}\ntrain: {epochs: 6}\n")
    (conf / "model.yaml").write_text("name: cnn\n")
    (over / "train.yaml").write_text("data: {batch_size: 4}\n")
    (over / "extra.yaml").write_text("only: overlay\n")
    names = materialize(str(conf), str(over), str(out))
    assert sorted(names) == ["extra.yaml", "model.yaml", "train.yaml"]
    assert yaml.safe_load((out / "train.yaml").read_text()) == {
        "data": {"segment": 2.0, "batch_size": 4}, "train": {"epochs": 6}}
    assert not (out / "smoke").exists()
    stamp = (out / "train.yaml").stat().st_mtime_ns
    materialize(str(conf), str(over), str(out))
    assert (out / "train.yaml").stat().st_mtime_ns == stamp
    materialize(str(conf), None, str(out))
    assert yaml.safe_load((out / "train.yaml").read_text())["data"]["batch_size"] == 8


@pytest.mark.slow
def test_second_run_in_one_recipe_stops_naming_the_running_one(toy, tmp_path):
    """Issue 31: two ./run.sh in one recipe dir both ran stage 1 on the same data/ and exp/.
    se.sh now locks EXP/.lock: the second stops at once naming the first's PID."""
    recipe, corpus = toy
    exp, go = tmp_path / "exp", tmp_path / "go"
    # the first run waits in a recipe stage (sourced after stage 10) until `go` exists
    (recipe / "local" / "wait.sh").write_text(
        f'for i in $(seq 600); do [ -e "{go}" ] && break; sleep 0.1; done\n')
    opts = ["--exp", exp, "--data", tmp_path / "data", "--stop_stage", 0]
    env = {k: v for k, v in os.environ.items() if k != "VBD"}
    env["PATH"] = f"{Path(sys.executable).parent}:{env['PATH']}"
    first = subprocess.Popen(["./run.sh", "--nj", "1", *map(str, opts), "--local_stages",
                              "local/wait.sh"], cwd=recipe, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        for _ in range(600):          # until the first run holds the lock and wrote its PID
            text = (exp / ".lock").read_text().strip() if (exp / ".lock").exists() else ""
            if text:
                break
            assert first.poll() is None, first.communicate()
            time.sleep(0.1)
        holder = int(text)
        assert "se.sh" in Path(f"/proc/{holder}/cmdline").read_text()
        second = run(recipe, *opts, VBD=str(corpus))
        assert second.returncode != 0 and "Traceback" not in second.stderr
        line = second.stderr.strip()
        assert "\n" not in line and f"another run is using {exp} (PID {holder};" in line
        assert "=== stage" not in second.stdout
    finally:
        go.touch()
        out, err = first.communicate(timeout=120)
    assert first.returncode == 0, out + err
    # the lock went with the first run: a lock taken here succeeds, and so does a rerun
    with open(exp / ".lock", "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        f.truncate(0)
        f.write(f"{os.getpid()}\n")
        f.flush()
        held = run(recipe, *opts, VBD=str(corpus))       # and a lock held here stops it
    assert held.returncode != 0 and f"(PID {os.getpid()};" in held.stderr
    assert run(recipe, *opts, VBD=str(corpus)).returncode == 0


@pytest.mark.slow
@pytest.mark.recipe
def test_stage_6_resumes_after_a_kill_and_refuses_an_edited_config(toy, tmp_path):
    """Issue 31: editing conf/train_*.yaml after a killed stage 6 resumed the checkpoint with
    the new config. Now the rerun stops naming the changed key; with the config restored it
    resumes where the kill left it."""
    _, corpus = toy
    recipe = tmp_path / "egs" / "toy" / "se1"
    made = subprocess.run([str(TEMPLATE / "setup.sh"), str(recipe), "VBD"], capture_output=True,
                          text=True)
    assert made.returncode == 0, made.stderr
    (recipe / "local" / "data.sh").write_text(TOY_DATA_SH)
    (recipe / "conf" / "eval.yaml").write_text(yaml.safe_dump(EVAL))
    (recipe / "conf" / "recipe.yaml").write_text(yaml.safe_dump({"systems": {
        "sup": {"train": {"config": "train_sup.yaml", "model": "model.yaml", "data": "test"}}}}))
    (recipe / "conf" / "model.yaml").write_text((REPO / "conf" / "models" /
                                                 "cnn_blstm_tiny.yaml").read_text())
    train_cfg = {"data": {"segment": 0.25, "batch_size": 1},
                 "optim": {"se": {"lr": 1e-3}},
                 "train": {"epochs": 2, "checkpoint_every": 1, "log_every": 1, "amp": False}}
    (recipe / "conf" / "train_sup.yaml").write_text(yaml.safe_dump(train_cfg))
    opts = ["--exp", tmp_path / "exp", "--data", tmp_path / "data", "--stop_stage", 6,
            "--ngpu", 0]
    exp = tmp_path / "exp" / "sup"
    killed = run(recipe, *opts, VBD=str(corpus), SEBENCH_KILL_AFTER_STEP="4")
    assert killed.returncode != 0 and not (exp / ".done").exists()
    written = (exp / "config.yaml").read_text()

    train_cfg["optim"]["se"]["lr"] = 5e-4
    (recipe / "conf" / "train_sup.yaml").write_text(yaml.safe_dump(train_cfg))
    edited = run(recipe, *opts, VBD=str(corpus))
    assert edited.returncode != 0 and not (exp / ".done").exists()
    assert "optim.se.lr 0.001 -> 0.0005" in edited.stdout + edited.stderr
    assert (exp / "config.yaml").read_text() == written

    train_cfg["optim"]["se"]["lr"] = 1e-3
    (recipe / "conf" / "train_sup.yaml").write_text(yaml.safe_dump(train_cfg))
    rerun = run(recipe, *opts, VBD=str(corpus))
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert "resumed from" in (tmp_path / "exp" / "log" / "sup.log").read_text()
    assert "step 6" in (exp / ".done").read_text()
