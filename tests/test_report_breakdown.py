"""RESULTS.md's per-group tables (eval.yaml ``breakdown:``), e.g. DAPS per device/room."""
import pytest

from sebench.errors import ConfigError, SebenchError
from sebench.results.policy import load_policy
from sebench.results.table import write_results


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_breakdown_averages_per_group(tmp_path):
    policy_file = write(tmp_path / "eval.yaml", "sets:\n  dev:\n    metrics: pesq_wb\n"
                        "    reference: true\n    breakdown: [device, room]\n")
    policy = load_policy(policy_file)
    data = tmp_path / "data"
    write(data / "dev" / "utt2device", "a ipad\nb ipad\nc iphone\n")
    write(data / "dev" / "utt2room", "a office1\nb office1\nc balcony1\n")
    scores = tmp_path / "scores"
    for system, values in (("noisy", "1.0,2.0,4.0"), ("ss", "2.0,,3.0")):
        a, b, c = values.split(",")
        write(scores / system / "dev" / "scores.csv",
              f"key,pesq_wb,error,warning\na,{a},,\nb,{b},failed,\nc,{c},,\n")
        write(scores / system / "dev" / "summary.json",
              '{"metrics": {"pesq_wb": {"mean": 1.0, "count": 3}}}')
    text = write_results(policy, str(scores), ["noisy", "ss"], str(tmp_path / "R.md"), data=str(data))
    assert "## dev by device / room" in text
    assert "| ipad_office1 | noisy | 1.50 |" in text
    assert "| ipad_office1 | ss | 2.00 |" in text           # the failed utterance left out
    assert "| iphone_balcony1 | ss | 3.00 |" in text
    with pytest.raises(SebenchError, match="--data"):
        write_results(policy, str(scores), ["noisy"], str(tmp_path / "R.md"))
    (data / "dev" / "utt2room").unlink()
    with pytest.raises(SebenchError, match="utt2room"):
        write_results(policy, str(scores), ["noisy"], str(tmp_path / "R.md"), data=str(data))
    write(policy_file, "sets:\n  dev:\n    metrics: pesq_wb\n    breakdown: {a: 1}\n")
    with pytest.raises(ConfigError, match="breakdown"):
        load_policy(policy_file)


def test_separate_breakdowns_by_snr_and_noise(tmp_path):
    """VBD's layout: one table per SNR (numeric order), another per noise type."""
    policy_file = write(tmp_path / "eval.yaml", "sets:\n  test:\n    metrics: pesq_wb\n"
                        "    reference: true\n    breakdown: [[snr], [noise]]\n")
    policy = load_policy(policy_file)
    data = tmp_path / "data"
    write(data / "test" / "utt2snr", "a 2.5\nb 17.5\nc 2.5\nd 12.5\n")
    write(data / "test" / "utt2noise", "a bus\nb cafe\nc cafe\nd bus\n")
    scores = tmp_path / "scores"
    write(scores / "nonadv" / "test" / "scores.csv",
          "key,pesq_wb,error,warning\na,1.0,,\nb,3.0,,\nc,2.0,,\nd,4.0,,\n")
    write(scores / "nonadv" / "test" / "summary.json",
          '{"metrics": {"pesq_wb": {"mean": 2.5, "count": 4}}}')
    text = write_results(policy, str(scores), ["nonadv"], str(tmp_path / "R.md"), data=str(data))
    by_snr = text.split("## test by snr")[1].split("## test by noise")[0]
    assert [line.split("|")[1].strip() for line in by_snr.splitlines() if "nonadv" in line] \
        == ["2.5", "12.5", "17.5"]
    assert "| 2.5 | nonadv | 1.50 |" in by_snr
    assert "| bus | nonadv | 2.50 |" in text and "| cafe | nonadv | 2.50 |" in text


def test_published_rows_are_marked_and_checked(tmp_path):
    policy_file = write(tmp_path / "eval.yaml", "sets:\n  test:\n    metrics: pesq_wb,stoi\n"
                        "    reference: true\npublished:\n  - {name: Non-Adv, source: paper 004,"
                        " values: {pesq_wb: 2.57}}\n")
    policy = load_policy(policy_file)
    scores = tmp_path / "scores"
    write(scores / "nonadv" / "test" / "summary.json",
          '{"metrics": {"pesq_wb": {"mean": 2.0, "count": 4}, "stoi": {"mean": 0.9, "count": 4}}}')
    text = write_results(policy, str(scores), ["nonadv"], str(tmp_path / "R.md"))
    assert "| nonadv | 2.00 | 0.90 |" in text
    assert "| *Non-Adv (published: paper 004)* | *2.57* | – |" in text
    for bad, message in (("{sisdr: 19.2}", "'sisdr' is not a column"), ("{pesq_wb: high}", "expected a number")):
        write(policy_file, "sets:\n  test:\n    metrics: pesq_wb,stoi\npublished:\n"
                           f"  - {{name: X, source: Y, values: {bad}}}\n")
        with pytest.raises(ConfigError, match=message):
            load_policy(policy_file)


def test_published_row_across_several_sets(tmp_path):
    """Paper 002's Table III: one published row with numbers on two sets (``sets:``)."""
    head = ("sets:\n  a:\n    metrics: pesq_wb,stoi\n    reference: true\n"
            "  b:\n    metrics: pesq_wb\n    reference: true\npublished:\n")
    policy_file = write(tmp_path / "eval.yaml", head +
                        "  - {name: FCRN, source: paper 002, sets: {a: {pesq_wb: 3.37, stoi: 0.96},"
                        " b: {pesq_wb: 1.95}}}\n")
    policy = load_policy(policy_file)
    scores = tmp_path / "scores"
    for s in ("a", "b"):
        write(scores / "fcrn" / s / "summary.json",
              '{"metrics": {"pesq_wb": {"mean": 2.0, "count": 4}, "stoi": {"mean": 0.9, "count": 4}}}')
    text = write_results(policy, str(scores), ["fcrn"], str(tmp_path / "R.md"))
    assert "| *FCRN (published: paper 002)* | *3.37* | *0.96* | *1.95* |" in text
    for bad, message in (("sets: {b: {stoi: 0.5}}", "'stoi' is not a column of set b"),
                         ("sets: {a: {pesq_wb: 1}}, values: {pesq_wb: 1}", "not both")):
        write(policy_file, head + f"  - {{name: X, source: Y, {bad}}}\n")
        with pytest.raises(ConfigError, match=message):
            load_policy(policy_file)
