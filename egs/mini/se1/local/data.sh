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
# paper 003 keeps the CAE's and the MAE's speakers disjoint: clean_train's speakers split in
# two halves (sorted names), clean_train_cae and clean_train_mae (recipe.yaml's cae, mae_*)
awk '{print $2}' "$out/clean_train/utt2spk" | sort -u > "$out/train_speakers.txt"
half=$(( $(wc -l < "$out/train_speakers.txt") / 2 ))
head -n "$half" "$out/train_speakers.txt" > "$out/train_speakers_cae.txt"
tail -n +"$(( half + 1 ))" "$out/train_speakers.txt" > "$out/train_speakers_mae.txt"
for part in cae mae; do
  rm -rf "$out/clean_train_$part"
  sebench data subset "$out/clean_train" "$out/clean_train_$part" \
    --spk-list "$out/train_speakers_$part.txt"
done
# ... and the MAE's noise-only examples are glimpses of the noise it is tested on: the
# paired sets' noise types (conf/simulate_paired.yaml's noise_include)
grep -E '^(white|pink|brown|babble|modulated)-' "$out/noise_train/wav.scp" | awk '{print $1}' \
  > "$out/noise_train_paired.keys"
rm -rf "$out/noise_train_paired"
sebench data subset "$out/noise_train" "$out/noise_train_paired" --utt-list "$out/noise_train_paired.keys"
