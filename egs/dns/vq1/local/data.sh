#!/usr/bin/env bash
# Stage 1 of egs/dns/vq1: DNS Challenge clean speech at $DNS and ESC-50 at $ESC50 (db.sh) ->
# data dirs in $out. The prepared corpora live in $out/dns and $out/esc50; the sets the recipe
# uses are linked into $out for stage 2 (DNS's noise, RIRs and blind sets are not needed).
# Paired fractions: random subsets (seeded) of F % of the training speech and of the seen
# training noise, clean_train_pF and noise_train_pF, for F in $fractions.
set -euo pipefail
out=data/local   # one data dir per set: $out/<set>/wav.scp ... (stage 2 formats them)
conf=conf        # the effective config dir
nj=1
seed=0
fractions="10 20 30 40"   # paired fractions in percent (recipe.yaml's systems use these)
# Real unpaired speech for the Unpaired-* systems (with --confdir conf/real): a data dir of real
# noisy recordings (e.g. `sebench prepare vox2`'s train), a folder of audio files, or "dns"
# for DNS1's real recordings (prepared below). It is formatted and curated
# by conf/curate_unpaired.yaml (speech activity and WADA-SNR about 10 dB, as the paper's
# filtered AudioSet) into $out/real_unpaired; the report lands in $out/real_unpaired_curation.md.
unpaired=
. ./path.sh
. ./cmd.sh
. ./db.sh
. utils/parse_options.sh

for var in DNS ESC50; do
  if [ -z "${!var}" ]; then
    echo "$0: $var is not set: set it in db.sh or run '$var=/path/to/corpus ./run.sh'" >&2
  fi
done
# a missing root or a wrong layout: one line naming the problem, the expected tree, exit 1
sebench prepare dns --root "${DNS}" --out "$out/dns" --seed "$seed"
sebench prepare esc50 --root "${ESC50}" --out "$out/esc50" --config "$conf/esc50.yaml"
for set in clean_train clean_valid; do ln -sfn "dns/$set" "$out/$set"; done
for set in noise_train noise_valid noise_test_seen noise_test_unseen; do
  ln -sfn "esc50/$set" "$out/$set"
done
for set in clean_train noise_train; do
  total=$(wc -l < "$out/$set/wav.scp")
  for f in $fractions; do   # F % of the files, at least one
    n=$(( (total * f + 99) / 100 ))
    sebench data subset "$out/$set" "$out/${set}_p$f" --random "$n" --seed "$seed"
  done
done
if [ -n "$unpaired" ]; then
  src=$unpaired
  if [ "$unpaired" = dns ]; then src=$out/dns/test_real_recordings; fi
  if [ ! -f "$src/wav.scp" ]; then   # a folder of recordings: indexed first
    sebench data from-folder "$src" "$out/.real_unpaired_src"
    src=$out/.real_unpaired_src
  fi
  # hidden: stage 2 formats every set of $out, and the uncurated set is not one of the recipe's
  sebench data format "$src" "$out/.real_unpaired_all" --fs 16000 --nj "$nj"
  sebench data curate "$out/.real_unpaired_all" "$out/real_unpaired" \
    --config "$conf/curate_unpaired.yaml" --report "$out/real_unpaired_curation.md"
fi
