#!/usr/bin/env bash
# egs/vbd/se1: VoiceBank-DEMAND with paper 004's DPRNN masker and its ablation (Non-Adv,
# Adv-IRM/IBM, Coop-IRM/IBM) and the beta sweep of its Fig. 2; scored as its Tables I-III.
# Data: set VBD in db.sh or run `VBD=/path/to/vbd ./run.sh`.
#   ./run.sh                            # every stage; a rerun skips finished ones
#   ./run.sh --stage 6 --stop_stage 6   # one stage
#   ./run.sh --systems adv_irm          # one system (and what it needs)
#   ./run.sh --confdir conf/smoke       # tiny sizes (the recipe's test)
# Stages 1-10 are egs/TEMPLATE/se1/se.sh's (./se.sh --help); stage 11 (local/stages.sh)
# plots CSIG vs CBAK per beta (exp/beta_sweep.png). The systems are declared in
# conf/recipe.yaml, the metrics in conf/eval.yaml.
set -euo pipefail

./se.sh --fs 16000 --format_opts --derive-noise --local_stages local/stages.sh "$@"
