#!/usr/bin/env bash
# Stage 1 of egs/mini/se1: synthesise the corpus (espeak-ng speakers with disjoint
# train/valid/test, nine noise types) and paper 002's RIRs, offline. Its data dirs
# (clean_<split>, noise_<split>) appear in $out for the format stage; the RIRs in $out/rirs.
set -euo pipefail
out=data/local
conf=conf
nj=1
seed=0
. ./path.sh
. ./cmd.sh
. utils/parse_options.sh

sebench synth-corpus --out "$out/corpus" --config "$conf/synth.yaml" --seed "$seed" \
  --nj "$nj" --cmd "$train_cmd"
sebench rir --out "$out/rirs" --config "$conf/rir.yaml" --seed "$seed" --nj "$nj" --cmd "$train_cmd"
for dir in "$out"/corpus/data/*/; do
  ln -sfn "corpus/data/$(basename "$dir")" "$out/$(basename "$dir")"
done
