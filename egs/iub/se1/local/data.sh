#!/usr/bin/env bash
# Stage 1 of egs/iub/se1: the corpus at $IUB (db.sh) -> data dirs train/valid/test in $out.
# `sebench prepare iub` reads the ratings CSV(s) (0-100 mapped linearly to 1-5; 1-5 kept;
# out-of-range values refused), draws the split of conf/iub.yaml and writes utt2mos. Its `all`
# set stays in $out/prep so stage 2 formats each clip once.
set -euo pipefail
out=data/local   # one data dir per set: $out/<set>/wav.scp ... (stage 2 formats them)
conf=conf        # the effective config dir
nj=1
seed=0
. ./path.sh
. ./cmd.sh
. ./db.sh
. utils/parse_options.sh

if [ -z "${IUB}" ]; then
  echo "$0: IUB is not set: set it in db.sh or run 'IUB=/path/to/iub ./run.sh'" >&2
fi
# a missing root or a wrong layout: one line naming the problem, the expected tree, exit 1
sebench prepare iub --root "${IUB}" --out "$out/prep" --config "$conf/iub.yaml"
for set_name in train valid test; do
  ln -sfn "prep/$set_name" "$out/$set_name"
done
