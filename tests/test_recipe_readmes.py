"""Every recipe has a README with the ESPnet-style sections, and the top-level README, an
overview, links each of them (issue 30)."""
import re

import pytest

from conftest import REPO

RECIPES = sorted(p.parent for p in REPO.glob("egs/*/*/run.sh"))
SECTIONS = ("reproduces", "corpus", "commands", "results", "cost")


def test_there_are_recipes():
    assert len(RECIPES) >= 7


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda p: str(p.relative_to(REPO / "egs")))
def test_recipe_readme_has_every_section(recipe):
    readme = recipe / "README.md"
    assert readme.is_file(), f"{readme} is missing"
    text = readme.read_text()
    headings = " ".join(re.findall(r"^## (.+)$", text, flags=re.M)).lower()
    missing = [s for s in SECTIONS if s not in headings]
    assert not missing, f"{readme}: no section on {', '.join(missing)}"
    assert "./run.sh" in text and "slurm" in text.lower()


def test_top_level_readme_links_every_recipe_and_paper():
    text = (REPO / "README.md").read_text()
    for recipe in RECIPES:
        assert f"]({recipe.relative_to(REPO)}/README.md)" in text, recipe
    for n in range(5):
        assert f"](docs/papers/00{n}.md)" in text
    # relative links of the recipe READMEs that point into the tree resolve (docs/papers/
    # excepted: written by other issues)
    for recipe in RECIPES:
        for target in re.findall(r"\]\(([^)#:]+)\)", (recipe / "README.md").read_text()):
            if "docs/papers/" not in target:
                assert (recipe / target).exists(), f"{recipe}/README.md links {target}"
