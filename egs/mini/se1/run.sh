#!/usr/bin/env bash
# egs/mini/se1: the self-contained recipe. Everything is built offline from a synthetic
# corpus (espeak-ng speech, generated noise), so it runs anywhere in about 20 minutes on a
# 2-core CPU: a demonstration of every stage, not a benchmark.
#
#   ./run.sh                          # all stages; finished stages are skipped on a rerun
#   ./run.sh --stage 5 --stop_stage 5 # one stage
#   ./run.sh --force_stage 5          # redo stage 5 even though it finished
#   ./run.sh --confdir conf/smoke     # the smoke-test sizes (a few minutes)
set -euo pipefail

stage=0
stop_stage=9
force_stage=-1
nj=2
confdir=conf
corpus=corpus
data=data
exp=exp
seed=0

help_message="Usage: $0 [--stage N] [--stop_stage M] [--force_stage K] [--nj J] [--confdir DIR]
Stages:
  0 synth-corpus: clean speech (espeak-ng) and noise, train/valid/test speakers
  1 RIRs (pyroomacoustics)
  2 simulate paired train/valid/test and unpaired real-like real_train/real_valid/real_test
  3 DNSMOS labels for the real-like sets
  4 train the CNN quality predictor; LCC/SRCC/MSE on real_test
  5 supervised CNN-BLSTM on the paired set
  6 deepdream, gan and semi on the real-like set
  7 robust-Q predictor; enhancement by it alone and after the supervised model
  8 enhance both test sets with every system
  9 score and write $exp/RESULTS.md"

. ./path.sh
. ./cmd.sh
. utils/parse_options.sh

mkdir -p "$exp"
stage_done() { echo "$exp/.stage$1.done"; }
# run_stage N TITLE: true when stage N is selected and not yet done (or forced)
run_stage() {
  local n=$1; shift
  [ "$n" -ge "$stage" ] && [ "$n" -le "$stop_stage" ] || return 1
  if [ -f "$(stage_done "$n")" ] && [ "$n" != "$force_stage" ]; then
    echo "stage $n: already done ($(stage_done "$n")); --force_stage $n redoes it"
    return 1
  fi
  echo "=== stage $n: $* ($(date '+%H:%M:%S')) ==="
  return 0
}
finish_stage() { date > "$(stage_done "$1")"; }
force() { [ "$1" = "$force_stage" ] && echo "--force" || true; }

paired_sets="train valid test"
real_sets="real_train real_valid real_test"
se_systems="supervised deepdream gan semi"
all_systems="noisy $se_systems robust_q supervised+robust_q"

if run_stage 0 "synthesize the corpus"; then
  sebench synth-corpus --out "$corpus" --config "$confdir/synth.yaml" --seed "$seed" \
    --nj "$nj" --cmd "$train_cmd"
  finish_stage 0
fi

if run_stage 1 "simulate room impulse responses"; then
  sebench rir --out "$data/rirs" --config "$confdir/rir.yaml" --seed "$seed" --nj "$nj" --cmd "$train_cmd"
  finish_stage 1
fi

if run_stage 2 "simulate paired and real-like sets"; then
  s=1
  for set in $paired_sets; do
    sebench simulate --clean "$corpus/data/clean_$set" --noise "$corpus/data/noise_$set" \
      --rir "$data/rirs" --out "$data/$set" --config "$confdir/simulate_paired.yaml" \
      --seed $((seed + s)) --nj "$nj" --cmd "$train_cmd"
    s=$((s + 1))
  done
  for set in train valid test; do
    sebench simulate --clean "$corpus/data/clean_$set" --noise "$corpus/data/noise_$set" \
      --rir "$data/rirs" --out "$data/real_$set" --config "$confdir/simulate_real.yaml" \
      --seed $((seed + s)) --nj "$nj" --cmd "$train_cmd"
    s=$((s + 1))
  done
  finish_stage 2
fi

if run_stage 3 "DNSMOS labels for the real-like sets"; then
  for set in $real_sets; do
    sebench label "$data/$set" --source dnsmos --short-clips first_window --nj "$nj" --cmd "$train_cmd"
  done
  finish_stage 3
fi

if run_stage 4 "train the CNN quality predictor"; then
  sebench train-qp --train "$data/real_train" --valid "$data/real_valid" --test "$data/real_test" \
    --qp-config "$confdir/qp.yaml" --config "$confdir/train_qp.yaml" --label dnsmos_p808 \
    --exp "$exp/qp_cnn" --seed "$seed" $(force 4)
  finish_stage 4
fi

if run_stage 5 "supervised CNN-BLSTM"; then
  sebench train --config "$confdir/train_supervised.yaml" --model-config "$confdir/se.yaml" \
    --train "$data/train" --valid "$data/valid" --exp "$exp/supervised" --seed "$seed" $(force 5)
  finish_stage 5
fi

if run_stage 6 "deepdream, gan and semi on the real-like set"; then
  sebench train --config "$confdir/train_deepdream.yaml" --model-config "$confdir/se.yaml" \
    --method_options.qp "$exp/qp_cnn" --train "$data/real_train" --valid "$data/real_valid" \
    --exp "$exp/deepdream" --seed "$seed" $(force 6)
  sebench train --config "$confdir/train_gan.yaml" --model-config "$confdir/se.yaml" \
    --train "$data/real_train" --valid "$data/real_valid" --exp "$exp/gan" --seed "$seed" $(force 6)
  sebench train --config "$confdir/train_semi.yaml" --model-config "$confdir/se.yaml" \
    --method_options.init_from "$exp/supervised" --train "$data/real_train" \
    --valid "$data/real_valid" --exp "$exp/semi" --seed "$seed" $(force 6)
  finish_stage 6
fi

if run_stage 7 "robust-Q: adversarial predictor, enhancement by Algorithm 1"; then
  sebench train-qp --config "$confdir/train_robust_q.yaml" --qp-config "$confdir/qp.yaml" \
    --method_options.init_from "$exp/qp_cnn" --train "$data/real_train" \
    --valid "$data/real_valid" --exp "$exp/qp_robust" --seed "$seed" $(force 7)
  for set in test real_test; do
    sebench enhance --robust-q "$exp/qp_robust" "$data/$set" -o "$exp/enh/robust_q/$set" \
      --nj "$nj" --cmd "$decode_cmd" $(force 7)
    sebench enhance --robust-q "$exp/qp_robust" --after "$exp/supervised" "$data/$set" \
      -o "$exp/enh/supervised+robust_q/$set" --nj "$nj" --cmd "$decode_cmd" $(force 7)
  done
  finish_stage 7
fi

if run_stage 8 "enhance both test sets with every system"; then
  for sys in $se_systems; do
    for set in test real_test; do
      sebench enhance "$exp/$sys" "$data/$set" -o "$exp/enh/$sys/$set" --nj "$nj" \
        --cmd "$decode_cmd" $(force 8)
    done
  done
  finish_stage 8
fi

if run_stage 9 "score and report"; then
  for sys in $all_systems; do
    for set in test real_test; do
      out="$exp/scores/$sys/$set"
      [ -f "$out/summary.json" ] && [ "$force_stage" != 9 ] && continue
      enh="$exp/enh/$sys/$set"
      [ "$sys" = noisy ] && enh="$data/$set"
      if [ "$set" = test ]; then
        sebench score --enh "$enh" --ref "$data/$set" --metrics pesq_wb,stoi,sisdr,csig,cbak,covl,dnsmos \
          --out "$out" --nj "$nj" --cmd "$decode_cmd" --dnsmos_short_clips first_window > /dev/null
      else
        sebench score --enh "$enh" --metrics nonintrusive --out "$out" --nj "$nj" \
          --cmd "$decode_cmd" --dnsmos_short_clips first_window > /dev/null
      fi
    done
  done
  curves=""
  for sys in $se_systems qp_cnn qp_robust; do
    [ -f "$exp/$sys/learning_curves.png" ] && curves="$curves${curves:+,}$exp/$sys/learning_curves.png"
  done
  sebench report --scores "$exp/scores" --systems "$(echo $all_systems | tr ' ' ,)" \
    --set "test:pesq_wb,stoi,sisdr,csig,cbak,covl,dnsmos_ovrl" \
    --set "real_test:dnsmos_p808,dnsmos_sig,dnsmos_bak,dnsmos_ovrl,srmr" \
    --qp "cnn (DNSMOS P.808 labels)=$exp/qp_cnn/test_real_test/accuracy.json" \
    --curves "$curves" --title "egs/mini/se1 results" \
    --note "A demonstration on a synthetic corpus (espeak-ng speech, generated noise) with tiny models and short training: it shows every stage working end to end, not what the methods achieve. 'test' is the paired simulated test set (intrusive metrics against its clean.scp); 'real_test' the unpaired real-like set (reverberation, microphone colouration, compression/clipping, noise types unseen in the paired data), scored without a reference (DNSMOS, and SRMR for its reverberation). Rows: the unprocessed input, then each system. Produced by \`./run.sh\` stage 9 with \`sebench score\` and \`sebench report\`." \
    --out "$exp/RESULTS.md"
  finish_stage 9
fi
echo "done: $exp/RESULTS.md"
