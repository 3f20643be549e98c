#!/usr/bin/env bash
# Stage 1 of egs/dns/se1: the DNS Challenge release at $DNS (db.sh) -> data dirs in $out
# (clean_/noise_ train and valid sources, the synthetic/real/blind test sets), and paper
# 002's simulated RIRs in $out/rirs_sim for the reverberant half of the fine-tuning set.
# `sebench prepare dns` checks the layout and prints the expected tree when it differs.
set -euo pipefail
out=data/local   # one data dir per set: $out/<set>/wav.scp ... (stage 2 formats them)
conf=conf        # the effective config dir
nj=1
seed=0
require=test_synthetic_no_reverb,test_synthetic_with_reverb,test_dns2_synthetic,test_dns3_real
                 # (those conf/eval.yaml still scores: --leave_out_sets drops one from there)
prepare_opts=    # more `sebench prepare dns` options (--band fullband, --valid-fraction F)
. ./path.sh
. ./cmd.sh
. ./db.sh
. utils/parse_options.sh

if [ -z "${DNS}" ]; then
  echo "$0: DNS is not set: set it in db.sh or run 'DNS=/path/to/corpus ./run.sh'" >&2
fi
required=
for set_name in ${require//,/ }; do
  if grep -q "^  ${set_name}:" "$conf/eval.yaml"; then required="${required:+$required,}$set_name"; fi
done
# a missing root or a wrong layout: one line naming the problem, the expected tree, exit 1
sebench prepare dns --root "${DNS}" --out "$out" --seed "$seed" ${required:+--require "$required"} \
  ${prepare_opts}
sebench rir --out "$out/rirs_sim" --config "$conf/rir.yaml" --seed "$seed" --nj "$nj" \
  --cmd "$train_cmd"
