#!/usr/bin/env bash
# Stage 1 of egs/CORPUS/se1: the corpus at $CORPUSVAR (db.sh) -> data dirs in $out.
# `sebench prepare` checks the layout and prints the expected tree when it differs.
set -euo pipefail
out=data/local   # one data dir per set: $out/<set>/wav.scp ... (stage 2 formats them)
conf=conf        # the effective config dir
nj=1
seed=0
. ./path.sh
. ./cmd.sh
. ./db.sh
. utils/parse_options.sh

if [ -z "${CORPUSVAR}" ]; then
  echo "$0: CORPUSVAR is not set: set it in db.sh or run 'CORPUSVAR=/path/to/corpus ./run.sh'" >&2
fi
# a missing root or a wrong layout: one line naming the problem, the expected tree, exit 1
sebench prepare CORPUS --root "${CORPUSVAR}" --out "$out"
