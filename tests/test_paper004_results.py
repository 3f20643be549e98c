"""Paper 004's figures beyond the score table: the beta sweep plot (Fig. 2, `plot-sweep`)
and the encoder norms for clean vs noise input (Table IV, `encoder-norms`)."""
import json

import numpy as np
import pytest
import torch

from conftest import run_cli, write_wav
from sebench.data import DataDir
from sebench.errors import ConfigError, SebenchError
from sebench.models import build_model
from sebench.models.store import export_model
from sebench.results.encoder_norms import encoder_norm_table, frame_norm
from sebench.results.sweep import parse_points, plot_sweep

pytestmark = [pytest.mark.timeout(120), pytest.mark.usefixtures("torch_one_thread")]


def write_summary(scores, system, means):
    folder = scores / system / "test"
    folder.mkdir(parents=True)
    (folder / "summary.json").write_text(json.dumps(
        {"utterances": 3, "metrics": {m: {"mean": v, "count": 3} for m, v in means.items()}}))


def test_sweep_plot_and_table(tmp_path):
    scores = tmp_path / "scores"
    write_summary(scores, "b06", {"csig": 3.70, "cbak": 3.20})
    write_summary(scores, "b08", {"csig": 3.84, "cbak": 3.33})
    rows = plot_sweep(str(scores), "test", parse_points("0.8=b08,0.6=b06"), "csig", "cbak",
                      str(tmp_path / "fig" / "sweep.png"), param="beta")
    assert [(v, s) for v, s, _ in rows] == [(0.6, "b06"), (0.8, "b08")]   # sorted by value
    assert (tmp_path / "fig" / "sweep.png").read_bytes()[:4] == b"\x89PNG"
    table = (tmp_path / "fig" / "sweep.md").read_text()
    assert "| 0.6 | b06 | 3.700 | 3.200 |" in table and "| 0.8 | b08 | 3.840 | 3.330 |" in table
    with pytest.raises(SebenchError, match="no stoi score"):
        plot_sweep(str(scores), "test", parse_points("0.6=b06,0.8=b08"), "csig", "stoi",
                   str(tmp_path / "x.png"))
    for bad in ("0.6=b06", "x=b06,0.8=b08", "0.6=,0.8=b08"):
        with pytest.raises(ConfigError, match="--points"):
            parse_points(bad)


@pytest.mark.slow
def test_sweep_cli_leaves_out_unscored_points_when_asked(tmp_path):
    scores = tmp_path / "scores"
    write_summary(scores, "b06", {"csig": 3.70, "cbak": 3.20})
    write_summary(scores, "b08", {"csig": 3.84, "cbak": 3.33})
    args = ["plot-sweep", "--scores", scores, "--set", "test", "--x", "csig", "--y", "cbak",
            "--out", tmp_path / "cli.png", "--points"]
    assert run_cli(*args, "0.6=b06,0.7=b07,0.8=b08", check=False).returncode != 0
    proc = run_cli(*args, "0.6=b06,0.7=b07,0.8=b08", "--skip-missing")
    assert "left out: b07" in proc.stdout and (tmp_path / "cli.png").is_file()
    proc = run_cli(*args, "0.6=b06,0.7=b07", "--skip-missing", "--out", tmp_path / "none.png")
    assert "no plot" in proc.stdout and not (tmp_path / "none.png").exists()


def test_encoder_norms_table(tmp_path):
    assert frame_norm(torch.tensor([[[3.0, 0.0], [4.0, 1.0]]])) == pytest.approx(3.0)  # (5+1)/2
    rng = np.random.default_rng(0)
    d = DataDir(tmp_path / "test")
    scps = {"wav": {}, "clean": {}, "noise": {}}
    for i in range(3):
        x = (0.1 * rng.standard_normal(2400)).astype(np.float32)
        v = (0.05 * rng.standard_normal(2400)).astype(np.float32)
        for name, audio in (("clean", x), ("noise", v), ("wav", x + v)):
            scps[name][f"u{i}"] = str(write_wav(tmp_path / name / f"u{i}.wav", audio, subtype="FLOAT"))
    for name, scp in scps.items():
        d.write(f"{name}.scp", scp)
    cfg = dict(name="dprnn", filters=8, hidden=8, chunk_size=10)
    torch.manual_seed(0)
    model = build_model(cfg)
    export_model(str(tmp_path / "exp" / "model"), cfg, model.state_dict())
    rows = encoder_norm_table(str(d.path), [("m", str(tmp_path / "exp"))],
                              str(tmp_path / "norms.md"), names={"m": "Model"})
    # the same numbers by hand: the encoder of the exported model on each clean / noise file
    with torch.no_grad():
        by_hand = [np.mean([float(model.encode(torch.tensor(_read(p))[None])[1].norm(dim=1).mean())
                            for p in scps[name].values()]) for name in ("clean", "noise")]
    (_, c, n, r), = rows
    assert (c, n) == pytest.approx(tuple(by_hand), rel=1e-5) and r == pytest.approx(c / n)
    assert "| Model |" in (tmp_path / "norms.md").read_text()
    # a data dir without noise.scp says how to get one
    (tmp_path / "test" / "noise.scp").unlink()
    with pytest.raises(SebenchError, match="--derive-noise"):
        encoder_norm_table(str(d.path), [("m", str(tmp_path / "exp"))], str(tmp_path / "x.md"))


def _read(path):
    import soundfile as sf
    return sf.read(path, dtype="float32")[0]
