#!/usr/bin/env bash
# egs/mini/se1: the self-contained recipe. Everything is built offline from a synthetic
# corpus (espeak-ng speech, generated noise), so its default systems (a row of each paper)
# run anywhere: `make demo` took 16.6 minutes on an idle 2-core CPU from an empty pip cache
# (README.md). A demonstration of every stage, not a benchmark.
#
#   ./run.sh                           # all stages; finished stages are skipped on a rerun
#   ./run.sh --stage 6 --stop_stage 6  # one stage (./se.sh --help lists them)
#   ./run.sh --force_stage 6           # redo stage 6 even though it finished
#   ./run.sh --systems semi            # one system (and the systems it needs)
#   ./run.sh --confdir conf/smoke      # the smoke-test sizes (a few minutes)
#
# Stage 1 (local/data.sh) synthesises the corpus and RIRs; conf/recipe.yaml declares the
# simulated sets, labels and systems, conf/eval.yaml what each test set is scored on.
set -euo pipefail

./se.sh --fs 16000 --nj 2 "$@"
