#!/usr/bin/env bash
# Paper 003's remedy table (issue 28): one MAE per remedy alone and all combined, trained on
# the mini recipe's data with one trained CAE, then bench/sse_probe.py on the test set.
#
#   bench/sse_remedies.sh CAE_EXP OUT_DIR [DATA_DIR] [STEPS]
#
# DATA_DIR (default egs/mini/se1/data) needs mae_train (the MAE's mixtures: test-condition
# noise, speakers disjoint from the CAE's), noise_train_paired and test; STEPS defaults to 400.
set -euo pipefail
set -f   # the [..] overrides below are words, not globs
cae=$1 out=$2 data=${3:-egs/mini/se1/data} steps=${4:-400}
root=$(cd "$(dirname "$0")/.." && pwd)
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1   # one thread per training (2 run at once)
conf=$root/egs/mini/se1/conf
sebench=$root/.venv/bin/sebench
# the former preset (no remedy), pinned: the presets now carry the chosen remedies
base_args="--method_options.noise_share 0.3 --model.channels [64,48,32,16]
  --model.posterior_std_min null --method_options.noise_level normalised
  --method_options.init_from_cae false"
declare -A variants=(
  [base]=""
  [std_min]="--model.posterior_std_min 0.2"
  [in_mixture]="--method_options.noise_level in_mixture"
  [init_cae]="--method_options.init_from_cae true --model.channels [64,32,16]"
  [share50]="--method_options.noise_share 0.5"
  [all]="--model.posterior_std_min 0.2 --method_options.noise_level in_mixture
         --method_options.init_from_cae true --model.channels [64,32,16]
         --method_options.noise_share 0.5"
  [all_share30]="--model.posterior_std_min 0.2 --method_options.noise_level in_mixture
         --method_options.init_from_cae true --model.channels [64,32,16]"
)
order=(base std_min in_mixture init_cae share50 all all_share30)
train() {
  local name=$1
  # shellcheck disable=SC2086
  "$sebench" train --method mae --config "$conf/train_mae.yaml" --model-config "$conf/mae.yaml" \
    --train "mix=$data/mae_train" --train "noise=$data/noise_train_paired" --exp "$out/$name" \
    --device cpu --train.max_steps "$steps" --method_options.cae "$cae" \
    $base_args ${variants[$name]} > "$out.$name.log" 2>&1
}
# two trainings at a time (2 cores)
for ((i = 0; i < ${#order[@]}; i += 2)); do
  train "${order[i]}" &
  if ((i + 1 < ${#order[@]})); then train "${order[i + 1]}" & fi
  wait
done
"$root/.venv/bin/python" "$root/bench/sse_probe.py" "$data/test" \
  $(for name in "${order[@]}"; do echo "$out/$name"; done) --share-cae --json "$out/probe.json" ${PROBE_ARGS:-}
