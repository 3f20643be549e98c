#!/usr/bin/env bash
# egs/dns/vq1: paper 001 (split-codebook VQ-VAE + triplet losses) on DNS Challenge clean speech
# and ESC-50 noise. Per paired fraction F (10/20/30/40 % of the training speech and noise):
# a VQ-VAE trained on 1 s triples of that fraction, then the stacked-GRU SE model in the five
# configurations of the paper's Table 1 (Baseline, Paired-/Unpaired-Embedding/Feature; the
# Unpaired-* ones draw their triplet batches from a simulated real-like set without labels).
# Tested on DNS1's held-out clean test speech mixed at -10/-5/0/5/10 dB with seen and unseen
# ESC-50 noise types (10 categories held out, conf/esc50.yaml).
# Data: set DNS and ESC50 in db.sh or run `DNS=/path/to/DNS-Challenge ESC50=/path/to/ESC-50 ./run.sh`
# (the DNS1 tree: datasets/clean/, datasets/test_set/synthetic/; ESC-50: audio/, meta/esc50.csv).
#   ./run.sh --stop_stage 3             # data preparation, format and simulation only
#   ./run.sh                            # every stage; a rerun skips finished ones
#   ./run.sh --systems unpaired_emb_p20 # one system and what it needs (vqvae_p20)
#   ./run.sh --systems all              # also Paired-* and Unpaired-Feature at every fraction
#   ./run.sh --confdir conf/smoke       # tiny sizes, two fractions (tests/test_recipe_vq1.py)
# Outputs: exp/RESULTS.md (PESQ/SI-SDR per system, then per input SNR for seen and unseen
# noise: the paper's Table 2 for every fraction), stage 11 exp/vqvae_pF/margin/ (the triplet
# margin against SNR, Fig. 5), stage 12 exp/sweep/<config>_<set>.{png,md} (PESQ and SI-SDR
# per paired fraction, Figs. 3-4). The shared stages are egs/TEMPLATE/se1/se.sh's.
set -euo pipefail

./se.sh --fs 16000 --local_stages local/stages.sh "$@"
