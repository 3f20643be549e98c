#!/usr/bin/env bash
# egs/iub/se1: paper 000's quality predictors (cnn, blstm, cnn_blstm) trained on the human MOS
# of the IU Bloomington corpus (Table 1: LCC/SRCC/MSE on its test split, scatter plots); the
# trained predictors are packed so egs/vox2/se1 can use an IUB teacher (Q_IUB).
# Data: set IUB in db.sh or run `IUB=/path/to/iub ./run.sh` (layout: `sebench prepare iub --help`).
#   ./run.sh                            # every stage; a rerun skips finished ones
#   ./run.sh --stage 5 --stop_stage 5   # train the predictors only
#   ./run.sh --confdir conf/smoke       # tiny sizes (tests/test_recipe_corpora.py)
# Stages (./se.sh --help): 1 prepare (ratings -> utt2mos, 1-5), 2 format, 5 the predictors,
# 7-9 DNSMOS of the test clips beside the predictors' accuracy in exp/RESULTS.md,
# 11 (local/stages.sh) pack the predictors to exp/packed/qp_<arch>.zip.
set -euo pipefail

./se.sh --fs 16000 --local_stages local/stages.sh "$@"
