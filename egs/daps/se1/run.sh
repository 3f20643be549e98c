#!/usr/bin/env bash
# egs/daps/se1: paper 003's self-supervised enhancement on DAPS: a clean autoencoder (CAE) on
# one speaker/script segment, mixture autoencoders (MAE) on another at noise-only shares of
# 0/30/50 %, spectral subtraction as the baseline; scored on the real device/room recordings
# and on simulated street-noise mixtures (5 and 10 dB) of the test segment.
# Data: set DAPS and NOISE (a folder of noise recordings, e.g. street noise) in db.sh, or
#   DAPS=/data/daps NOISE=/data/street ./run.sh --stop_stage 2
#   ./run.sh                            # every stage; a rerun skips finished ones
#   ./run.sh --stage 6 --stop_stage 6   # one stage
#   ./run.sh --systems mae_30           # one system (and the CAE it needs)
#   ./run.sh --confdir conf/smoke       # tiny sizes (the recipe's test)
# The stages are egs/TEMPLATE/se1/se.sh's (./se.sh --help); the sets and systems are
# declared in conf/recipe.yaml, the metrics per test set in conf/eval.yaml.
set -euo pipefail

./se.sh --fs 16000 "$@"
