"""sebench plot-curves: columns of the trainer's logs of several experiments against steps."""
import pytest

from sebench.cli.main import main
from sebench.errors import ConfigError
from sebench.results.curves import parse_series, read_series


def _exp(folder, teacher, ovrl):
    folder.mkdir(parents=True)
    (folder / "valid_log.csv").write_text("step,epoch,loss,teacher\n" + "".join(
        f"{10 * (i + 1)},0,0.5,{t}\n" for i, t in enumerate(teacher)))
    (folder / "valid_metrics.csv").write_text("step,dnsmos_ovrl\n" + "".join(
        f"{10 * (i + 1)},{v}\n" for i, v in enumerate(ovrl)))


def test_series_are_read_and_checked(tmp_path):
    _exp(tmp_path / "dd", [3.0, 3.5], [2.0, 1.9])
    assert read_series(tmp_path / "dd", "valid", "teacher") == [(10, 3.0), (20, 3.5)]
    assert read_series(tmp_path / "dd", "train", "loss") == []
    with pytest.raises(ConfigError, match="SOURCE:COLUMN"):
        parse_series("dnsmos_ovrl")


@pytest.mark.slow        # matplotlib's first figure
@pytest.mark.timeout(120)
def test_plot_curves_draws_each_experiment_and_writes_the_numbers(tmp_path, capsys):
    _exp(tmp_path / "exp" / "deepdream", [3.0, 3.6, 3.9], [2.0, 2.1, 1.8])
    _exp(tmp_path / "exp" / "gan" / "seed0", [2.9, 3.0], [2.0, 2.2])   # a seeded system
    out = tmp_path / "fig" / "fig1.png"
    rc = main(["plot-curves", "--exps", f"deepdream={tmp_path / 'exp/deepdream'},"
               f"gan={tmp_path / 'exp/gan'},none={tmp_path / 'exp/none'}", "--skip-missing",
               "--series", "valid:teacher,metric:dnsmos_ovrl", "--out", str(out)])
    assert rc == 0 and out.read_bytes()[:4] == b"\x89PNG"
    table = (tmp_path / "fig" / "fig1.md").read_text()
    assert "| deepdream | valid:teacher | 3 | 3.000 | 3.900 (step 30) | 3.900 |" in table
    assert "| gan | metric:dnsmos_ovrl | 2 | 2.000 | 2.200 (step 20) | 2.200 |" in table
    assert "none" not in table and "deepdream" in capsys.readouterr().out
    assert main(["plot-curves", "--exps", f"x={tmp_path / 'nope'}", "--series", "valid:loss",
                 "--out", str(tmp_path / "y.png")]) == 1
