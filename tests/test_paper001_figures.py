"""Paper 001's figures as the paper lays them out: the improvement over the unprocessed input
against the paired fraction, one line per configuration (Figs. 3-4, `plot-lines`), and the
triplet margin against SNR, one line per VQ-VAE (Fig. 5, `plot-margins`)."""
import json

import pytest

from conftest import run_cli
from sebench.errors import ConfigError, SebenchError
from sebench.results.lines import collect, parse_series, plot_lines
from sebench.results.margin_lines import parse_runs, plot_margin_runs

pytestmark = pytest.mark.timeout(120)


def write_summary(scores, system, means, set_name="test_seen"):
    folder = scores / system / set_name
    folder.mkdir(parents=True)
    (folder / "summary.json").write_text(json.dumps(
        {"utterances": 3, "metrics": {m: {"mean": v, "count": 3} for m, v in means.items()}}))


@pytest.fixture
def scores(tmp_path):
    scores = tmp_path / "scores"
    write_summary(scores, "noisy", {"sisdr": 0.5, "pesq_wb": 1.4})
    for f, (s, p) in {10: (5.0, 1.9), 20: (6.5, 2.1)}.items():
        write_summary(scores, f"baseline_p{f}", {"sisdr": s, "pesq_wb": p})
        write_summary(scores, f"emb_p{f}", {"sisdr": s + 1, "pesq_wb": p + 0.05})
    return scores


def test_improvement_lines_per_configuration(scores, tmp_path):
    series = parse_series("baseline=baseline_p{},emb=emb_p{}")
    found = collect(str(scores), "test_seen", [20.0, 10.0], series, ["sisdr", "pesq_wb"],
                    reference="noisy")
    assert list(found) == ["baseline", "emb"]
    # the improvement over noisy, in the order of the values given
    assert [(v, s) for v, s, _ in found["emb"]] == [(20.0, "emb_p20"), (10.0, "emb_p10")]
    assert found["emb"][0][2]["sisdr"] == pytest.approx(7.0)
    assert found["baseline"][1][2]["pesq_wb"] == pytest.approx(0.5)
    out = tmp_path / "fig" / "improvement.png"
    plot_lines(found, ["sisdr", "pesq_wb"], str(out), param="paired %", reference="noisy")
    assert out.read_bytes()[:4] == b"\x89PNG"
    table = (tmp_path / "fig" / "improvement.md").read_text()
    assert "| emb | 20 | emb_p20 | 7.000 | 0.750 |" in table
    assert "| baseline | 10 | baseline_p10 | 4.500 | 0.500 |" in table
    # absolute values without a reference
    plain = collect(str(scores), "test_seen", [10.0], series, ["sisdr"])
    assert plain["baseline"][0][2]["sisdr"] == pytest.approx(5.0)


def test_improvement_lines_errors_and_missing_points(scores):
    series = parse_series("baseline=baseline_p{}")
    with pytest.raises(SebenchError, match="baseline_p30"):
        collect(str(scores), "test_seen", [10.0, 30.0], series, ["sisdr"])
    kept = collect(str(scores), "test_seen", [10.0, 30.0], series, ["sisdr"], skip_missing=True)
    assert [s for _, s, _ in kept["baseline"]] == ["baseline_p10"]
    with pytest.raises(SebenchError, match="no stoi score"):
        collect(str(scores), "test_seen", [10.0], series, ["stoi"])
    for bad in ("baseline", "baseline=baseline_p10", "=x_{}", ""):
        with pytest.raises(ConfigError, match="--series"):
            parse_series(bad)


def write_margins(folder, snrs, margins, bin_db=5.0):
    import numpy as np

    from sebench.results.vq_margin import summarise

    folder.mkdir(parents=True)
    rows = [(f"u{i}", s, m) for i, (s, m) in enumerate(zip(snrs, margins))]
    (folder / "summary.json").write_text(json.dumps(summarise(rows, bin_db)))
    (folder / "margin.csv").write_text("utt,snr_db,margin\n" + "".join(
        f"{k},{s},{m}\n" for k, s, m in rows))
    return float(np.std(margins))


@pytest.mark.slow
def test_margin_lines_one_per_vqvae(tmp_path):
    snrs = [-10, -5, 0, 5, 10, 15]
    std = write_margins(tmp_path / "p10" / "margin", snrs, [0.1, 0.1, 0.1, 0.1, 0.1, 0.2])
    write_margins(tmp_path / "p40" / "margin", snrs, [0.6, 0.4, 0.2, 0.0, -0.2, -0.4])
    runs = parse_runs([f"10={tmp_path / 'p10' / 'margin'}", f"40={tmp_path / 'p40' / 'margin'}",
                       f"30={tmp_path / 'p30' / 'margin'}"])
    with pytest.raises(SebenchError, match="p30.*missing"):
        plot_margin_runs(runs, str(tmp_path / "m.png"))
    out = tmp_path / "m.png"
    loaded = plot_margin_runs(runs, str(out), skip_missing=True)
    assert [label for label, _, _ in loaded] == ["10", "40"]
    assert loaded[0][2] == pytest.approx(std)
    assert loaded[1][1]["slope_per_db"] == pytest.approx(-0.04)   # falls as the SNR rises
    assert out.read_bytes()[:4] == b"\x89PNG"
    table = (tmp_path / "m.md").read_text()
    assert "| 40 | 6 | -0.04000 | -1.000 |" in table and "| -10 dB |" in table
    with pytest.raises(ConfigError, match="LABEL=MARGIN_DIR"):
        parse_runs(["p10"])


@pytest.mark.slow
def test_figure_clis(scores, tmp_path):
    proc = run_cli("plot-lines", "--scores", scores, "--set", "test_seen", "--values", "10,20,30",
                   "--series", "baseline=baseline_p{},emb=emb_p{}", "--metrics", "sisdr",
                   "--relative-to", "noisy", "--skip-missing", "--out", tmp_path / "l.png")
    assert "emb value=20 emb_p20: sisdr +7.000" in proc.stdout and (tmp_path / "l.png").is_file()
    proc = run_cli("plot-lines", "--scores", scores, "--set", "test_unseen", "--values", "10",
                   "--series", "b=baseline_p{}", "--metrics", "sisdr", "--skip-missing",
                   "--out", tmp_path / "none.png")
    assert "no plot" in proc.stdout and not (tmp_path / "none.png").exists()
    write_margins(tmp_path / "m10", [-5, 0, 5], [0.3, 0.2, 0.1])
    proc = run_cli("plot-margins", f"10={tmp_path / 'm10'}", "--out", tmp_path / "m.png")
    assert "paired % 10: slope -0.02000/dB" in proc.stdout and (tmp_path / "m.md").is_file()
    bad = run_cli("plot-margins", f"10={tmp_path / 'nope'}", "--out", tmp_path / "x.png",
                  check=False)
    assert bad.returncode != 0 and "nope/summary.json: missing" in bad.stderr
