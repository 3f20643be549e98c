#!/usr/bin/env bash
# egs/dns/se1: paper 002 on the DNS Challenge data: the FCRN pre-trained with J_MSE, PESQNet
# pre-trained on its outputs, both fine-tuned on a DNS3-style set, then the alternating <1-1>
# PESQNet-mediated fine-tuning and its alpha = 1 placebo; scored on the DNS1 test sets.
# Data: set DNS in db.sh or run `DNS=/path/to/DNS-Challenge ./run.sh` (DNS1 or DNS3 tree).
#   ./run.sh --stop_stage 2             # data preparation and format only
#   ./run.sh                            # every stage; a rerun skips finished ones
#   ./run.sh --stage 6 --stop_stage 6   # one stage
#   ./run.sh --systems pesqnet          # one system and the systems it needs
#   ./run.sh --confdir conf/smoke       # tiny sizes (the recipe's test)
# The stages are egs/TEMPLATE/se1/se.sh's (./se.sh --help); the sets and systems are
# declared in conf/recipe.yaml, the metrics per test set in conf/eval.yaml.
set -euo pipefail

./se.sh --fs 16000 "$@"
