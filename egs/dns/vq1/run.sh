#!/usr/bin/env bash
# egs/dns/vq1: paper 001 (split-codebook VQ-VAE + triplet losses) on DNS Challenge clean speech
# and ESC-50 noise. Per paired fraction F (10/20/30/40 % of the training speech and noise):
# a VQ-VAE trained on 1 s triples of that fraction, then the stacked-GRU SE model in the five
# configurations of the paper's Table 1 (Baseline, Paired-/Unpaired-Embedding/Feature; the
# Unpaired-* ones draw their triplet batches from an unpaired set without labels: by default
# the FALLBACK unpaired_sim_fallback, simulated real-like mixtures; with --confdir conf/real a
# curated set of real noisy speech). Training items are mixed on the fly per epoch from the
# fraction's clean and noise files (data/<set>/stream.yaml); SNRs are global energy ratios.
# Tested on DNS1's held-out clean test speech mixed at -10/-5/0/5/10 dB with seen and unseen
# ESC-50 noise types (10 categories held out, conf/esc50.yaml).
# Data: set DNS and ESC50 in db.sh or run `DNS=/path/to/DNS-Challenge ESC50=/path/to/ESC-50 ./run.sh`
# (the DNS1 tree: datasets/clean/, datasets/test_set/synthetic/; ESC-50: audio/, meta/esc50.csv).
#   ./run.sh --stop_stage 3             # data preparation, format and simulation only
#   ./run.sh                            # every stage; a rerun skips finished ones
#   ./run.sh --systems unpaired_emb_p20 # one system and what it needs (vqvae_p20)
#   ./run.sh --systems all              # also Paired-* and Unpaired-Feature at every fraction
#   ./run.sh --confdir conf/smoke       # tiny sizes, two fractions (tests/test_recipe_vq1.py)
#   ./run.sh --confdir conf/real --local_data_opts "--unpaired DIR"   # real unpaired speech:
#       DIR a data dir or folder of real recordings (e.g. `sebench prepare vox2`'s train), or
#       "dns" (DNS1's real recordings); curated by conf/curate_unpaired.yaml (speech activity,
#       WADA-SNR 5-15 dB around the paper's 10 dB) into data/real_unpaired
#   ./run.sh --confdir conf/l3          # the VQ-VAE with an L = 3 latent (Fig. 5's other reading)
# Outputs: exp/RESULTS.md (PESQ/SI-SDR per system, then per input SNR for seen and unseen
# noise: the paper's Table 2 for every fraction), stage 11 exp/vqvae_pF/margin/ (the triplet
# margin against SNR, Fig. 5), stage 12 exp/sweep/<config>_<set>.{png,md} (PESQ and SI-SDR
# per paired fraction, Figs. 3-4), stage 13 exp/triplet_sweep/<config>/{table.md,chosen.json}
# (the triplet weight x margin on the validation set, conf/triplet_sweep_*.yaml; 9 trainings
# per loss at full size: stop at stage 12 to skip it). The shared stages are
# egs/TEMPLATE/se1/se.sh's. Fidelity to the paper: docs/papers/001.md.
set -euo pipefail

./se.sh --fs 16000 --local_stages local/stages.sh "$@"
