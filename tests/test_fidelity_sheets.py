"""docs/papers/00N.md, the fidelity sheets: every file they name exists, so a sheet cannot
keep pointing at a preset, module or test that was renamed or removed."""
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHEETS = sorted((ROOT / "docs" / "papers").glob("*.md"))
# a backticked repo path: egs/..., sebench/..., tests/..., bench/..., conf/..., docs/...
PATH = re.compile(r"`((?:egs|sebench|tests|bench|conf|docs|utils|local)/[^`\s*]+?)(?:::[^`]*)?`")


def named_paths(text):
    return sorted({m.group(1).rstrip(".,:;") for m in PATH.finditer(text)})


def test_every_paper_has_a_sheet():
    names = {p.stem for p in SHEETS}
    assert "004" in names, names


@pytest.mark.parametrize("sheet", SHEETS, ids=lambda p: p.name)
def test_every_file_a_sheet_names_exists(sheet):
    paths = named_paths(sheet.read_text())
    missing = [p for p in paths if not (ROOT / p).exists()]
    assert paths, f"{sheet.name} names no file of the repository"
    assert not missing, f"{sheet.name} names files that do not exist: {missing}"


def test_the_path_pattern_sees_presets_and_tests():
    text = "see `egs/vbd/se1/conf/train_grl.yaml` and `tests/test_models.py::test_x`, not `x.yaml`"
    assert named_paths(text) == ["egs/vbd/se1/conf/train_grl.yaml", "tests/test_models.py"]
