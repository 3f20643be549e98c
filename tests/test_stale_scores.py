"""Issue 31, items 3 and 8 (score part): a rescore with fewer metrics leaves no earlier
``utt2<metric>`` file behind, the statistics read scores.csv and fail when a metric is
absent, and a job that wrote no rows is named in the error."""
import pytest

from conftest import run_cli, write_wav
from sebench.cli.main import main
from sebench.data import DataDir
from sebench.errors import SebenchError
from sebench.scoring.stats import wilcoxon_table
from test_metrics import add_noise, speech_like


@pytest.fixture
def pairs(tmp_path):
    clean, enh_a, enh_b = {}, {}, {}
    for i in range(5):
        x = speech_like(0.5, seed=i)
        clean[f"u{i}"] = str(write_wav(tmp_path / "clean" / f"u{i}.wav", x))
        enh_a[f"u{i}"] = str(write_wav(tmp_path / "a" / f"u{i}.wav", add_noise(x, 15, seed=i)))
        enh_b[f"u{i}"] = str(write_wav(tmp_path / "b" / f"u{i}.wav", add_noise(x, 5, seed=i)))
    d = DataDir(tmp_path / "data")
    d.write("wav.scp", clean)
    d.write("clean.scp", clean)
    return tmp_path, d


def _score(enh, ref, out, metrics, *extra):
    assert main(["score", "--enh", str(enh), "--ref", str(ref), "--metrics", metrics,
                 "--out", str(out), "--cache_dir", str(out.parent / "cache"), *extra]) == 0


def test_rescore_with_fewer_metrics_removes_the_stale_files(pairs, capsys):
    root, d = pairs
    out_a, out_b = root / "scores_a", root / "scores_b"
    _score(root / "a", d.path, out_a, "sisdr,snr")
    _score(root / "b", d.path, out_b, "sisdr,snr")
    assert (out_a / "utt2snr").exists()
    (out_a / "utt2spk").write_text("u0 s\n")          # not a score file: left alone
    assert wilcoxon_table(out_a, out_b, ["snr"])[0]["n"] == 5
    _score(root / "a", d.path, out_a, "sisdr")
    _score(root / "b", d.path, out_b, "sisdr")
    capsys.readouterr()
    assert (out_a / "utt2sisdr").exists() and not (out_a / "utt2snr").exists()
    assert (out_a / "utt2spk").exists()
    assert wilcoxon_table(out_a, out_b, ["sisdr"])[0]["n"] == 5
    with pytest.raises(SebenchError, match=r"scores\.csv: no snr column \(scored: sisdr\)"):
        wilcoxon_table(out_a, out_b, ["snr"])


def test_statistics_read_scores_csv_not_a_leftover_file(pairs, capsys):
    root, d = pairs
    out_a, out_b = root / "scores_a", root / "scores_b"
    _score(root / "a", d.path, out_a, "sisdr")
    _score(root / "b", d.path, out_b, "sisdr")
    capsys.readouterr()
    for out in (out_a, out_b):      # e.g. copied in, or left by an older sebench
        (out / "utt2snr").write_text("".join(f"u{i} {i + (out == out_a)}\n" for i in range(5)))
    with pytest.raises(SebenchError, match="no snr column"):
        wilcoxon_table(out_a, out_b, ["snr"])
    rc = main(["score-stats", "wilcoxon", str(out_a), str(out_b), "--metrics", "snr"])
    assert rc == 1 and "no snr column" in capsys.readouterr().err


def test_significance_table_ignores_a_leftover_metric_file(pairs, capsys):
    import yaml

    from sebench.results.policy import load_policy
    from sebench.results.table import significance_table

    root, d = pairs
    scores = root / "scores"
    for system, enh in (("base", "b"), ("new", "a")):
        _score(root / enh, d.path, scores / system / "test", "sisdr,snr")   # an earlier run
        _score(root / enh, d.path, scores / system / "test", "sisdr")       # the current one
    capsys.readouterr()
    (scores / "base" / "test" / "utt2snr").write_text("".join(f"u{i} {i}\n" for i in range(5)))
    (scores / "new" / "test" / "utt2snr").write_text("".join(f"u{i} {i + 9}\n" for i in range(5)))
    policy_file = root / "eval.yaml"
    policy_file.write_text(yaml.safe_dump({
        "sets": {"test": {"metrics": "sisdr,snr"}},
        "significance": {"baseline": "base", "metrics": ["sisdr", "snr"]}}))
    lines = significance_table(load_policy(policy_file), str(scores), ["base", "new"])
    row = next(line for line in lines if line.startswith("| new |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[1] != "–" and cells[2] == "–", row     # sisdr tested, snr was not scored


NO_ROWS_RUNNER = """#!/usr/bin/env python3
# a run.pl stand-in that reports success while job 2's rows never appear (as when a second
# run in the same folder removed them)
import os, subprocess, sys
spec, log, *command = sys.argv[1:]
first, last = map(int, spec.split("=")[1].split(":"))
for job in range(first, last + 1):
    path = log.replace("JOB", str(job))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        if job != 2:
            argv = [word.replace("JOB", str(job)) for word in command]
            subprocess.run(argv, stdout=f, stderr=subprocess.STDOUT, check=True)
"""


@pytest.mark.slow
def test_score_error_names_the_shard_whose_rows_are_missing(pairs):
    root, d = pairs
    runner = root / "norows.pl"
    runner.write_text(NO_ROWS_RUNNER)
    runner.chmod(0o755)
    out = root / "s"
    proc = run_cli("score", "--enh", root / "a", "--ref", d.path, "--metrics", "sisdr",
                   "--out", out, "--nj", "2", "--cmd", runner, check=False)
    last = proc.stderr.strip().splitlines()[-1]
    assert proc.returncode == 1 and "None" not in last, proc.stderr
    assert f"job 2 wrote no {out}/split2/rows.2.jsonl" in last and "score.2.log" in last
