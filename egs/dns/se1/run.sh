#!/usr/bin/env bash
# egs/dns/se1: paper 002 on the DNS Challenge data: the FCRN pre-trained with J_MSE, PESQNet
# pre-trained on its outputs, both fine-tuned on a DNS3-style set, then the alternating <1-1>
# PESQNet-mediated fine-tuning and its alpha = 1 placebo; scored on the DNS1 synthetic sets
# (Table III), the DNS2 synthetic test set (Table IV) and the DNS3 real test set (Table V),
# beside the paper's published rows. Stage 11: PESQNet's accuracy (Tables I-II, Figs. 7-8);
# stage 12: the <1-1> training curves (Figs. 9-12) (local/stages.sh).
# Data: set DNS in db.sh or run `DNS=/path/to/DNS-Challenge ./run.sh`: a tree with the DNS1
# test_set/, the DNS2 ICASSP_dev_test_set/ and the DNS3 dev_testset/ (stage 1 lists the tree).
#   ./run.sh --stop_stage 2             # data preparation and format only
#   ./run.sh                            # every stage; a rerun skips finished ones
#   ./run.sh --stage 6 --stop_stage 6   # one stage
#   ./run.sh --systems pesqnet          # one system and the systems it needs
#   ./run.sh --confdir conf/smoke       # tiny sizes (the recipe's test)
# The stages are egs/TEMPLATE/se1/se.sh's (./se.sh --help); the sets and systems are
# declared in conf/recipe.yaml, the metrics per test set in conf/eval.yaml.
set -euo pipefail

./se.sh --fs 16000 --local_stages local/stages.sh "$@"
