#!/usr/bin/env bash
# Stage 1 of egs/vox2/se1: VoxCeleb2 at $VOX2 -> train/valid/test (+ official_test) by the
# speaker split of conf/vox2.yaml (its speaker folders scanned by --nj jobs through
# $train_cmd; the .m4a files stay where they are, stage 2 decodes them with PyAV), and the
# DNS blind test sets at $DNS: DNS1's -> dns_blind_real, dns_blind_noreverb,
# dns_blind_reverb; the later release's track 1 (ICASSP_blind_test_set/track_1/noisy/) ->
# dns3_blind (the evaluation sets of conf/eval.yaml).
set -euo pipefail
out=data/local   # one data dir per set: $out/<set>/wav.scp ... (stage 2 formats them)
conf=conf        # the effective config dir
nj=1
seed=0
. ./path.sh
. ./cmd.sh
. ./db.sh
. utils/parse_options.sh

for var in VOX2 DNS; do
  if [ -z "${!var}" ]; then
    echo "$0: $var is not set: set it in db.sh or run '$var=/path/to/corpus ./run.sh'" >&2
  fi
done
# a missing root or a wrong layout: one line naming the problem, the expected tree, exit 1
sebench prepare vox2 --root "${VOX2}" --out "$out/vox2" --config "$conf/vox2.yaml" \
  --nj "$nj" --cmd "$train_cmd"
sebench prepare dns --root "${DNS}" --out "$out/dns" --prefix dns_ --durations false
# the paper trains on dev/ only: the official test/ set (vox2/official_test) is left unformatted
for set_name in train valid test; do
  ln -sfn "vox2/$set_name" "$out/$set_name"
done
# the DNS blind sets that are there (se.sh's stage-1 check names any that eval.yaml scores
# and this tree lacks, where it comes from and how to leave it out)
for set_name in dns_blind_real dns_blind_noreverb dns_blind_reverb; do
  if [ -f "$out/dns/$set_name/wav.scp" ]; then ln -sfn "dns/$set_name" "$out/$set_name"; fi
done
if [ -f "$out/dns/dns_blind_track1/wav.scp" ]; then
  ln -sfn "dns/dns_blind_track1" "$out/dns3_blind"
fi
