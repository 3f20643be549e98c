"""Paper presets run the papers' arithmetic: fp32 and no gradient clipping unless the paper
says otherwise (sebench/train/config.py's defaults; a preset that opts in says why)."""
from pathlib import Path

import pytest

from conftest import REPO
from sebench.config import resolve
from sebench.train.config import CHECKS, DEFAULTS, optimizer_config, qp_defaults

pytestmark = pytest.mark.timeout(60)

# the paper presets: every recipe's conf/train*.yaml (egs/mini is the demo, not a paper's
# preset; conf/<smoke>/ holds tiny sizes) and the repository's conf/train/*.yaml
PRESETS = sorted([p for p in REPO.glob("egs/*/*/conf/train*.yaml") if p.parts[-4] != "mini"]
                 + list(REPO.glob("conf/train/*.yaml")))
# presets whose paper asks for clipping, with the paper's words (the preset's comment says so)
CLIPPED = {"grl": "paper 004: 'gradient clipping with maximum L_2 norm of 5'",
           "dprnn_sisdr": "paper 004's DPRNN masker, the same training"}


def resolved(path):
    defaults = qp_defaults() if "qp" in path.stem else DEFAULTS
    return resolve(defaults, str(path), checks=CHECKS)


def test_the_defaults_are_fp32_without_clipping():
    assert DEFAULTS["train"]["amp"] is False and DEFAULTS["train"]["grad_clip"] is None


def test_every_paper_preset_is_found():
    names = {str(p.relative_to(REPO)) for p in PRESETS}
    assert "egs/dns/se1/conf/train_pesqnet.yaml" in names and len(names) >= 20
    assert not any(n.startswith("egs/mini/") for n in names)


@pytest.mark.parametrize("path", PRESETS, ids=lambda p: str(p.relative_to(REPO)))
def test_paper_preset_is_fp32_and_unclipped_unless_its_paper_says(path):
    cfg = resolved(path)
    assert cfg["train"]["amp"] is False, f"{path}: AMP on"
    names = [k for k in (cfg.get("optim") or {})] or ["default"]
    clips = {n: optimizer_config(dict(cfg, optim=cfg.get("optim") or {"default": {}}),
                                 n)["grad_clip"] for n in names}
    opted_in = next((why for key, why in CLIPPED.items() if key in path.stem), None)
    if opted_in:
        assert all(c == 5.0 for c in clips.values()), (path, clips)
        comments = [ln for ln in Path(path).read_text().lower().splitlines()
                    if ln.lstrip().startswith("#")]
        assert any("clip" in ln for ln in comments), f"{path}: clipping without a why"
    else:
        assert all(c in (None, 0, 0.0) for c in clips.values()), (path, clips)


def test_every_preset_the_paper_002_sheet_names_exists():
    import re
    sheet = (REPO / "docs" / "papers" / "002.md").read_text()
    named = set(re.findall(r"`(egs/[\w/.-]+\.(?:yaml|sh))`", sheet))
    assert len(named) >= 13 and "egs/dns/se1/conf/train_pesqnet.yaml" in named
    missing = sorted(p for p in named if not (REPO / p).is_file())
    assert not missing, missing
    # and every preset of the recipe is in the sheet
    presets = {str(p.relative_to(REPO)) for p in REPO.glob("egs/dns/se1/conf/*.yaml")}
    assert presets <= named, sorted(presets - named)
