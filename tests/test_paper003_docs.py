"""docs/papers/003.md (paper 003's fidelity sheet) names only files that exist."""
import re

import pytest

from conftest import REPO

DOC = REPO / "docs" / "papers" / "003.md"


@pytest.mark.timeout(30)
def test_every_file_the_fidelity_sheet_names_exists():
    text = DOC.read_text()
    named = set(re.findall(r"`((?:egs|sebench|bench|tests)/[^`\s]+\.(?:yaml|py|sh))`", text))
    presets = {n for n in named if n.endswith(".yaml")}
    assert len(presets) >= 8, presets       # the daps and mini presets are named
    missing = sorted(n for n in named if not (REPO / n).is_file())
    assert not missing, missing
