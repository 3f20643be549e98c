#!/usr/bin/env bash
# Stage 1 of egs/daps/se1: DAPS at $DAPS and a noise folder at $NOISE (db.sh) -> data dirs.
# `sebench prepare daps` splits speakers and scripts three ways (conf/daps.yaml): cae_clean
# (trains the CAE), mae_clean (simulated mixtures for the MAE), test_clean (simulated test
# mixtures), mae_device and test_device (the device/room recordings, paired with clean/).
# The prepared sets live in $out/daps/; only those the recipe uses are linked into $out for
# stage 2. Experiment 1's noise examples, mae_device_noise, are the noise-only stretches of
# mae_device's recordings found by an energy threshold ($conf/glimpses.yaml).
set -euo pipefail
out=data/local   # one data dir per set: $out/<set>/wav.scp ... (stage 2 formats them)
conf=conf        # the effective config dir
nj=1
seed=0
. ./path.sh
. ./cmd.sh
. ./db.sh
. utils/parse_options.sh

if [ -z "${DAPS}" ]; then
  echo "$0: DAPS is not set: set it in db.sh or run 'DAPS=/path/to/daps ./run.sh'" >&2
fi
if [ -z "${NOISE}" ] || [ ! -d "${NOISE}" ]; then
  echo "$0: NOISE is not a folder ('${NOISE}'): set it in db.sh or run 'NOISE=/path/to/noise ./run.sh' (any folder of noise recordings, e.g. street noise)" >&2
  exit 1
fi
# a missing root or a wrong layout: one line naming the problem, the expected tree, exit 1
sebench prepare daps --root "${DAPS}" --out "$out/daps" --config "$conf/daps.yaml"
sebench data from-folder "${NOISE}" "$out/noise"
for set in cae_clean mae_clean mae_device test_clean test_device; do
  ln -sfn "daps/$set" "$out/$set"
done
rm -rf "$out/mae_device_noise"
sebench data glimpses "$out/mae_device" "$out/mae_device_noise" --config "$conf/glimpses.yaml"
