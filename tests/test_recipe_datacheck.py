"""Stage 1 stops when a set the recipe needs is missing (sebench.recipe.datacheck, se.sh), a
test set can be left out (--leave_out_sets), and stage 2 takes per-recipe `data format`
options from recipe.yaml's `format:` (a stereo corpus formats with a declared channel)."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import yaml

from conftest import REPO, tone
from sebench.corpora.testing import make_dns_tree, make_vox2_tree
from sebench.errors import ConfigError
from sebench.recipe.datacheck import check_sets, missing_sets
from sebench.recipe.overlay import materialize
from sebench.recipe.plan import Context
from sebench.recipe.systems import Recipe

pytestmark = pytest.mark.timeout(240)
TEMPLATE = REPO / "egs" / "TEMPLATE" / "se1"


def write_set(root, name, n=2, scp="wav.scp"):
    folder = Path(root) / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / scp).write_text("".join(f"u{i} /x/u{i}.wav\n" for i in range(n)))


def make_conf(tmp_path, systems, sets=("test", "real_test"), **extra):
    conf = tmp_path / "conf"
    conf.mkdir(exist_ok=True)
    (conf / "t.yaml").write_text("a: 1\n")
    (conf / "recipe.yaml").write_text(yaml.safe_dump(dict(extra, systems=systems),
                                                     sort_keys=False))
    (conf / "eval.yaml").write_text(yaml.safe_dump(
        {"sets": {s: {"metrics": "dnsmos"} for s in sets},
         "comparison": {"columns": {s: ["dnsmos_ovrl"] for s in sets},
                        "judges": {"set": sets[-1], "columns": ["dnsmos_ovrl"]}},
         "published": [{"name": "P", "source": "x", "set": sets[-1],
                        "values": {"dnsmos_ovrl": 3.0}}]}, sort_keys=False))
    return conf


SYSTEMS = {
    "noisy": {"enhance": "input"},
    "sup": {"train": {"config": "t.yaml", "data": "train", "valid": "valid"}},
    "qp": {"train": {"command": "train-qp", "config": "t.yaml", "model": "t.yaml",
                     "data": "real_train", "args": "--test {data}/real_heldout"}},
    "semi": {"train": {"config": "t.yaml", "data": "real_train",
                       "args": "--method_options.init_from {exp:sup}"}},
    "pesqnet": {"before": ["label {data}/train --source pesq --out {data}/pesqnet_train"],
                "train": {"command": "train-qp", "config": "t.yaml", "model": "t.yaml",
                          "data": "pesqnet_train"}, "enhance": False},
}


def test_every_needed_set_present_passes_and_produced_sets_count(tmp_path):
    conf = make_conf(tmp_path, SYSTEMS, simulate={
        "train": {"clean": "clean", "noise": "noise", "rir": "local/rirs", "config": "t.yaml"},
        "more": {"clean": "local/src/clean.scp", "noise": "noise", "config": "t.yaml"}})
    data = tmp_path / "data"
    (data / "local" / "src").mkdir(parents=True)
    (data / "local" / "src" / "clean.scp").write_text("u0 /x/u0.wav\n")   # a list, not a dir
    for name in ("valid", "real_train", "real_heldout", "test", "real_test", "clean"):
        write_set(data / "local", name)
    write_set(data, "noise")                                  # formatted already (stage 2)
    write_set(data / "local", "rirs", scp="rir.scp")          # a RIR set lists rir.scp
    ctx = Context(str(conf), str(data), str(tmp_path / "exp"))
    # train is simulate's output, pesqnet_train a `before` command's --out: both made later
    assert missing_sets(ctx, "all") == []
    check_sets(ctx, "all")
    (data / "local" / "src" / "clean.scp").write_text("")
    assert "set 'local/src/clean.scp' is missing" in missing_sets(ctx, "all")[0]


def test_a_missing_test_set_names_it_its_source_and_the_leave_out_option(tmp_path):
    conf = make_conf(tmp_path, SYSTEMS, sources={"real_test": "$SEB_ROOT/blind/ (real clips)"})
    data = tmp_path / "data"
    for name in ("train", "valid", "real_train", "real_heldout", "test"):
        write_set(data / "local", name)
    (data / "local" / "real_test").mkdir()
    (data / "local" / "real_test" / "wav.scp").write_text("")  # empty is missing too
    os.environ["SEB_ROOT"] = "/corpora/x"
    try:
        lines = missing_sets(Context(str(conf), str(data), "exp"), "all")
    finally:
        del os.environ["SEB_ROOT"]
    assert len(lines) == 1
    line = lines[0]
    assert line.startswith(f"{data / 'local' / 'real_test'}: set 'real_test' is missing")
    assert "(needed by eval.yaml)" in line and "/corpora/x/blind/ (real clips)" in line
    assert line.endswith("leave it out with --leave_out_sets real_test")


def test_a_missing_training_set_says_which_systems_to_leave_out(tmp_path):
    conf = make_conf(tmp_path, SYSTEMS)
    data = tmp_path / "data"
    for name in ("train", "valid", "real_heldout", "test", "real_test"):
        write_set(data / "local", name)
    ctx = Context(str(conf), str(data), "exp")
    with pytest.raises(ConfigError) as err:
        check_sets(ctx, "all")
    (line,) = str(err.value).splitlines()
    assert "set 'real_train' is missing" in line
    assert "needed by system qp, system semi" in line
    assert "local/data.sh makes it from the corpus roots of db.sh" in line   # no sources:
    # semi's dependency sup stays; qp and semi go (and nothing depends on them)
    assert line.endswith("leave out qp, semi with --systems noisy,sup,pesqnet")
    # not selected: not needed
    assert missing_sets(ctx, "noisy,sup") == []


def test_leave_out_drops_a_test_set_from_the_effective_configs(tmp_path):
    systems = dict(SYSTEMS, only_real={"enhance": "input", "sets": ["real_test"]})
    conf = make_conf(tmp_path, systems)
    out = tmp_path / "eff"
    materialize(str(conf), None, str(out), ["real_test"])
    ev = yaml.safe_load((out / "eval.yaml").read_text())
    assert list(ev["sets"]) == ["test"] and ev["published"] == []
    assert list(ev["comparison"]["columns"]) == ["test"] and "judges" not in ev["comparison"]
    assert "left out (--leave_out_sets): real_test" in (out / "eval.yaml").read_text()
    recipe = yaml.safe_load((out / "recipe.yaml").read_text())
    assert recipe["systems"]["only_real"]["sets"] == []
    data = tmp_path / "data"
    for name in ("train", "valid", "real_train", "real_heldout", "test"):
        write_set(data / "local", name)
    assert missing_sets(Context(str(out), str(data), "exp"), "all") == []
    with pytest.raises(ConfigError, match="--leave_out_sets: nope not a set of .*eval.yaml "
                                          r"\(sets: test, real_test\)"):
        materialize(str(conf), None, str(tmp_path / "e2"), ["nope"])
    with pytest.raises(ConfigError, match="leaves no test set"):
        materialize(str(conf), None, str(tmp_path / "e3"), ["test", "real_test"])


def test_format_options_per_recipe_and_per_set():
    recipe = Recipe({"format": {"channel": 0, "derive_noise": True,
                                "sets": {"mos": {"channel": "mean", "audio_format": "flac"}}}})
    assert recipe.format_words("test") == ["--channel", "0", "--derive-noise"]
    assert recipe.format_words("mos") == ["--channel", "mean", "--derive-noise",
                                          "--audio-format", "flac"]
    assert Recipe({}).format_words("test") == []
    for bad, message in (({"channel": "left"}, "format.channel: expected a channel index"),
                         ({"chanel": 0}, "chanel"),
                         ({"copy": "yes"}, "format.copy: expected true or false"),
                         ({"sets": {"x": {"fs": 8000}}}, "format.sets.x")):
        with pytest.raises(ConfigError, match=message):
            Recipe({"format": bad})


# -- through se.sh ---------------------------------------------------------------------------
STEREO_DATA_SH = r"""#!/usr/bin/env bash
set -euo pipefail
out=data/local; conf=conf; nj=1; seed=0
. ./path.sh; . ./cmd.sh; . ./db.sh
. utils/parse_options.sh
sebench data from-folder "${VBD}/mos" "$out/mos"
"""


def run_recipe(recipe, *args, **env):
    full = {k: v for k, v in os.environ.items() if k not in ("VBD", "DNS", "VOX2")}
    full.update(PATH=f"{Path(sys.executable).parent}:{full['PATH']}", SEBENCH_NO_PROGRESS="1",
                **env)
    return subprocess.run(["./run.sh", "--nj", "1", *map(str, args)], cwd=recipe,
                          capture_output=True, text=True, env=full)


@pytest.mark.slow
def test_a_stereo_corpus_formats_through_the_recipe_with_a_declared_channel(tmp_path):
    recipe = tmp_path / "egs" / "stereo" / "se1"
    proc = subprocess.run([str(TEMPLATE / "setup.sh"), str(recipe), "VBD"], capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr
    (recipe / "local" / "data.sh").write_text(STEREO_DATA_SH)
    (recipe / "conf" / "eval.yaml").write_text(yaml.safe_dump(
        {"sets": {"mos": {"metrics": "dnsmos"}}}))
    left, right = tone(0.3, freq=300, amp=0.2), tone(0.3, freq=900, amp=0.4)
    for i in range(2):
        path = tmp_path / "corpus" / "mos" / f"clip{i}.wav"
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, np.stack([left, right], axis=1), 16000, subtype="PCM_16")
    opts = ["--stop_stage", 2, "--data", tmp_path / "data", "--exp", tmp_path / "exp"]
    # undeclared: stage 2 stops on the stereo files
    (recipe / "conf" / "recipe.yaml").write_text(yaml.safe_dump(
        {"systems": {"noisy": {"enhance": "input"}}}))
    failed = run_recipe(recipe, *opts, VBD=str(tmp_path / "corpus"))
    assert failed.returncode != 0 and "has 2 channels" in failed.stdout + failed.stderr
    # declared in recipe.yaml: the right channel is kept
    (recipe / "conf" / "recipe.yaml").write_text(yaml.safe_dump(
        {"format": {"channel": 1}, "systems": {"noisy": {"enhance": "input"}}}))
    done = run_recipe(recipe, *opts, VBD=str(tmp_path / "corpus"))
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "--channel 1" in done.stdout
    wav = (tmp_path / "data" / "mos" / "wav.scp").read_text().split()[1]
    audio, fs = sf.read(wav)
    assert audio.ndim == 1 and fs == 16000
    assert np.allclose(audio, right, atol=1e-3)
    # a changed declaration redoes stage 2 (its signature holds the options)
    (recipe / "conf" / "recipe.yaml").write_text(yaml.safe_dump(
        {"format": {"channel": "mean"}, "systems": {"noisy": {"enhance": "input"}}}))
    again = run_recipe(recipe, *opts, "--force_stage", 2, VBD=str(tmp_path / "corpus"))
    assert again.returncode == 0 and "=== stage 2" in again.stdout
    audio, _ = sf.read((tmp_path / "data" / "mos" / "wav.scp").read_text().split()[1])
    assert np.allclose(audio, (left + right) / 2, atol=1e-3)


@pytest.mark.slow
def test_dns_recipe_stage_1_stops_on_a_blind_set_without_reverberant_clips(tmp_path):
    root = make_dns_tree(tmp_path / "DNS", later_tests=True)
    (root / "datasets" / "blind_test_set" / "reverb_fileid_1.wav").unlink()
    proc = run_recipe(REPO / "egs" / "dns" / "se1", "--confdir", "conf/smoke", "--stop_stage", 1,
                      "--data", tmp_path / "data", "--exp", tmp_path / "exp", DNS=str(root))
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    (line,) = [x for x in proc.stderr.splitlines() if "is missing" in x]
    assert "set 'blind_reverb' is missing or empty after stage 1 (needed by eval.yaml)" in line
    assert f"{root}/datasets/blind_test_set/ (reverb_*.wav)" in line
    assert "--leave_out_sets blind_reverb" in line
    assert not (tmp_path / "exp" / ".stage1.done").exists()
    # left out as the line says: stage 1 passes, and no stage plans the set
    kept = run_recipe(REPO / "egs" / "dns" / "se1", "--confdir", "conf/smoke", "--stop_stage", 1,
                      "--leave_out_sets", "blind_reverb", "--data", tmp_path / "data",
                      "--exp", tmp_path / "exp", DNS=str(root))
    assert kept.returncode == 0, kept.stderr[-2000:]
    assert "blind_reverb" not in (tmp_path / "exp" / "plan" / "score.tsv").read_text()


@pytest.mark.slow
def test_vox2_recipe_stage_1_stops_on_a_blind_set_without_reverberant_clips(tmp_path):
    vox2 = make_vox2_tree(tmp_path / "vox2")
    dns = make_dns_tree(tmp_path / "dns", blind_tracks=True)
    (dns / "datasets" / "blind_test_set" / "reverb_fileid_1.wav").unlink()
    proc = run_recipe(REPO / "egs" / "vox2" / "se1", "--confdir", "conf/smoke", "--stop_stage", 1,
                      "--data", tmp_path / "data", "--exp", tmp_path / "exp",
                      VOX2=str(vox2), DNS=str(dns))
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    (line,) = [x for x in proc.stderr.splitlines() if "is missing" in x]
    assert "set 'dns_blind_reverb' is missing" in line
    assert f"{dns}/datasets/blind_test_set/ (reverb_*.wav)" in line
    assert "--leave_out_sets dns_blind_reverb" in line


@pytest.mark.slow
def test_vbd_recipe_stage_1_stops_without_the_test_set_and_makes_paper_000s_split(tmp_path):
    from sebench.corpora.testing import make_vbd_tree
    from sebench.data.datadir import DataDir
    root = make_vbd_tree(tmp_path / "vbd")
    opts = ["--confdir", "conf/smoke", "--stop_stage", 1, "--data", tmp_path / "data",
            "--exp", tmp_path / "exp"]
    done = run_recipe(REPO / "egs" / "vbd" / "se1", *opts, VBD=str(root))
    assert done.returncode == 0, done.stderr[-2000:]
    local = tmp_path / "data" / "local"
    spk = {n: set(DataDir(local / n).utt2spk().values()) for n in ("valid_spk", "train_spk")}
    assert spk["valid_spk"] == {"p226", "p287"} and not spk["train_spk"] & {"p226", "p287"}
    # a test set that is not there (its folder emptied): stage 1 names it
    for folder in ("clean_testset_wav", "noisy_testset_wav"):
        for f in (root / folder).iterdir():
            f.unlink()
    failed = run_recipe(REPO / "egs" / "vbd" / "se1", *opts, "--force_stage", 1, VBD=str(root))
    # VBD's parser needs its test folders (the release layout): its one line names the folder
    assert failed.returncode != 0 and "Traceback" not in failed.stderr
    assert "no .wav files in noisy_testset_wav/" in failed.stderr
