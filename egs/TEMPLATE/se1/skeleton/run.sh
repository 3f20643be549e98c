#!/usr/bin/env bash
# egs/CORPUS/se1: ... (what the recipe does, in two lines).
# Data: set CORPUSVAR in db.sh or run `CORPUSVAR=/path/to/corpus ./run.sh`.
#   ./run.sh                            # every stage; a rerun skips finished ones
#   ./run.sh --stage 6 --stop_stage 6   # one stage
#   ./run.sh --confdir conf/smoke       # tiny sizes (the recipe's test)
# The stages are egs/TEMPLATE/se1/se.sh's (./se.sh --help); the sets and systems are
# declared in conf/recipe.yaml, the metrics per test set in conf/eval.yaml.
set -euo pipefail

./se.sh --fs 16000 "$@"
