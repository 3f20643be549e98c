import subprocess

from conftest import REPO

SCRIPT = """#!/usr/bin/env bash
set -eu
stage=0
stop_stage=100
use_gpu=false
train_config=conf/a.yaml
help_message="usage: test.sh [--stage N] [--stop_stage M]"
. {utils}/parse_options.sh
echo "stage=$stage stop_stage=$stop_stage use_gpu=$use_gpu train_config=$train_config rest=$*"
"""


def run(tmp_path, *args):
    script = tmp_path / "test.sh"
    script.write_text(SCRIPT.format(utils=REPO / "utils"))
    script.chmod(0o755)
    return subprocess.run([str(script), *args], capture_output=True, text=True, cwd=tmp_path)


def test_sets_variables_dash_to_underscore(tmp_path):
    out = run(tmp_path, "--stage", "3", "--stop-stage", "5", "--use_gpu", "true",
              "--train-config=x.yaml", "pos1", "pos2")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ("stage=3 stop_stage=5 use_gpu=true train_config=x.yaml "
                                  "rest=pos1 pos2")


def test_unknown_option_is_error(tmp_path):
    out = run(tmp_path, "--stgae", "3")
    assert out.returncode != 0 and "invalid option --stgae" in out.stderr


def test_boolean_check(tmp_path):
    out = run(tmp_path, "--use-gpu", "yes")
    assert out.returncode != 0 and "true or false" in out.stderr


def test_missing_value(tmp_path):
    out = run(tmp_path, "--stage")
    assert out.returncode != 0 and "needs a value" in out.stderr


def test_config_file_then_options_override(tmp_path):
    (tmp_path / "my.conf").write_text("stage=7\nstop_stage=9\n")
    out = run(tmp_path, "--stage", "1", "--config", "my.conf")
    assert out.returncode == 0, out.stderr
    assert "stage=1 stop_stage=9" in out.stdout
    out = run(tmp_path, "--config", "nope.conf")
    assert out.returncode != 0 and "cannot read config" in out.stderr


def test_help_prints_message(tmp_path):
    out = run(tmp_path, "--help")
    assert out.returncode == 0 and "usage: test.sh" in out.stdout
