#!/usr/bin/env bash
# Stage 1 of egs/vbd/se1: VoiceBank-DEMAND at $VBD (db.sh) -> data/local/{train,valid,test}.
# Paper 004's split: a seeded random 90/10 utterance split of the 28-speaker training set
# (--valid_split speakers gives paper 000's p226/p287 split instead), and paper 000's split
# beside it as train_spk/valid_spk (p226 and p287 held out) for its supervised CNN-BLSTM.
# `sebench prepare` checks the layout and prints the expected tree when it differs.
set -euo pipefail
out=data/local   # one data dir per set: $out/<set>/wav.scp ... (stage 2 formats them)
conf=conf        # the effective config dir
nj=1
seed=0
valid_split=random
valid_fraction=0.1
train_set=28spk
. ./path.sh
. ./cmd.sh
. ./db.sh
. utils/parse_options.sh

if [ -z "${VBD}" ]; then
  echo "$0: VBD is not set: set it in db.sh or run 'VBD=/path/to/vbd ./run.sh'" >&2
fi
# a missing root or a wrong layout: one line naming the problem, the expected tree, exit 1
sebench prepare vbd --root "${VBD}" --out "$out" --train-set "$train_set" \
  --valid-split "$valid_split" --valid-fraction "$valid_fraction" --seed "$seed"
# train_all (= train + valid) is not used here: dropped so stage 2 does not format it twice
rm -rf "$out/train_all"
# paper 000's split of the same training set (system 'supervised'; egs/vox2/se1's semi
# starts from it): validation speakers p226 and p287
sebench prepare vbd --root "${VBD}" --out "$out/paper000" --train-set "$train_set" \
  --valid-split speakers          # valid_speakers default: p226, p287 (paper 000)
for set_name in train valid; do
  ln -sfn "paper000/$set_name" "$out/${set_name}_spk"
done
