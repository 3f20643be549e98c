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


def expand_braces(path):
    """``conf/qp/{cnn,blstm}.yaml`` -> both paths (the sheets name families that way)."""
    m = re.search(r"\{([^{}]*)\}", path)
    if not m:
        return [path]
    return [p for alt in m.group(1).split(",")
            for p in expand_braces(path[:m.start()] + alt + path[m.end():])]


def exists(path):
    """At the repository root, or (conf/..., local/...) inside some recipe."""
    if (ROOT / path).exists():
        return True
    return path.startswith(("conf/", "local/")) and any(
        (recipe / path).exists() for recipe in ROOT.glob("egs/*/*"))


def test_every_paper_has_a_sheet():
    names = {p.stem for p in SHEETS}
    assert {"000", "001", "002", "003", "004"} <= names, names


@pytest.mark.parametrize("sheet", SHEETS, ids=lambda p: p.name)
def test_every_file_a_sheet_names_exists(sheet):
    paths = named_paths(sheet.read_text())
    missing = [p for p in paths if not all(exists(x) for x in expand_braces(p))]
    assert paths, f"{sheet.name} names no file of the repository"
    assert not missing, f"{sheet.name} names files that do not exist: {missing}"


def test_brace_families_and_recipe_relative_paths_are_resolved():
    assert expand_braces("conf/qp/{cnn,blstm}.yaml") == ["conf/qp/cnn.yaml", "conf/qp/blstm.yaml"]
    assert exists("conf/smoke") and not exists("conf/no_such_overlay")


def test_the_path_pattern_sees_presets_and_tests():
    text = "see `egs/vbd/se1/conf/train_grl.yaml` and `tests/test_models.py::test_x`, not `x.yaml`"
    assert named_paths(text) == ["egs/vbd/se1/conf/train_grl.yaml", "tests/test_models.py"]
