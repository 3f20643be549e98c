#!/usr/bin/env bash
# egs/TEMPLATE/se1/se.sh: the stages every sebench recipe shares (as ESPnet's enh.sh).
# A recipe symlinks it as ./se.sh and its run.sh calls it; what the recipe simulates, labels,
# trains and reports is declared in conf/recipe.yaml and conf/eval.yaml, read through
# `sebench recipe plan`. Every item is one visible `sebench` command run through the job
# runners of cmd.sh. See egs/TEMPLATE/README.md.
set -euo pipefail

stage=1              # first stage to run
stop_stage=100       # last stage (the recipe's own stages, --local_stages, are 11 and up)
force_stage=         # redo these stages (comma list) although they are done
nj=4                 # jobs for the sharded commands (format, simulate, label, enhance, score)
train_jobs=1         # trials and seeds of one system trained at once (each its own runner job)
ngpu=1               # GPUs per training job: 0 = CPU, >1 = DDP (runners map --gpu N)
gpu_inference=false  # true: enhance on a GPU through cuda_cmd
seed=0
seeds=               # comma list: one experiment per seed for every trained row (overrides
                     # recipe.yaml's seeds:); the report shows mean ± std over seeds
fs=16000             # sample rate of the formatted data
data=data            # data dirs (data/local: stage 1's output)
exp=exp              # experiments, enhanced audio, scores, RESULTS.md
confdir=             # overlay: YAML files holding only the keys that differ from conf/'s
systems=default      # default (recipe.yaml's default_systems, else all), all, or a comma list
local_data_opts=     # more options for local/data.sh
format_opts=         # more options for `sebench data format` (e.g. --derive-noise; per set:
                     # conf/recipe.yaml's format:)
leave_out_sets=      # comma list of conf/eval.yaml test sets not scored (a corpus part you lack)
local_stages=        # a file sourced after stage 10 with the recipe's own stages (11+)

help_message="Usage: $0 [options]
  --stage N --stop_stage M   run stages N..M (default 1..100)
  --force_stage N[,K]        redo stage N (and K) although done
  --nj J --ngpu G --seed S --fs HZ --data DIR --exp DIR --gpu_inference true|false
  --train_jobs N             train up to N trials/seeds of one system at once (e.g. on Slurm)
  --confdir DIR              config overlay (e.g. conf/smoke: only the differing keys)
  --systems LIST             default | all | comma list (dependencies are added)
  --seeds LIST               every trained row once per seed (e.g. 0,1,2): mean ± std rows
  --leave_out_sets LIST      test sets of conf/eval.yaml to leave out (not downloaded)
Stages (each skipped when the recipe declares nothing for it):
  1 data preparation: local/data.sh --out DATA/local (corpus roots from db.sh), then a
    check that every set the selected systems and eval.yaml need is there
  2 format every DATA/local/<set> into DATA/<set> at --fs (sebench data format; options
    from conf/recipe.yaml's format:)
  3 simulate          (conf/recipe.yaml simulate:)
  4 label             (conf/recipe.yaml label:)
  5 train the quality predictors (systems with train-qp)
  6 train the other systems, each after the systems it needs
  7 enhance the test sets of conf/eval.yaml with every system
  8 score (metrics per set from conf/eval.yaml)
  9 report: EXP/RESULTS.md
 10 pack the trained SE models
 11+ the recipe's own stages (--local_stages FILE)"

. ./path.sh
. ./cmd.sh
. utils/parse_options.sh

say() { echo "$(basename "$0"): $*"; }
selected() { [ "$1" -ge "$stage" ] && [ "$1" -le "$stop_stage" ]; }
forced() { [[ ",${force_stage}," == *",$1,"* ]]; }
force_opt() { if forced "$1"; then echo --force; fi; }
marker() { echo "${exp}/.stage$1.done"; }
# begin_stage N SIGNATURE TITLE...: true when stage N is selected and not done with this
# SIGNATURE (the checksum of its items: a stage reruns when, e.g., a system is added)
begin_stage() {
  local n=$1 sig=$2; shift 2
  selected "$n" || return 1
  current=$n
  if [ -f "$(marker "$n")" ] && [ "$(cat "$(marker "$n")")" = "$sig" ] && ! forced "$n"; then
    say "stage $n: already done ($(marker "$n")); --force_stage $n redoes it"
    return 1
  fi
  say "=== stage $n: $* ($(date '+%H:%M:%S')) ==="
}
end_stage() { printf '%s\n' "$2" > "$(marker "$1")"; }
signature() { printf '%s' "$1" | cksum | cut -d' ' -f1; }
# stage_items N STAGE TITLE: like begin_stage, with the stage's items in $items (none: false)
stage_items() {
  selected "$1" || return 1
  items=$(cat "$exp/plan/$2.tsv")
  if [ -z "$items" ]; then
    say "stage $1: nothing declared for $3"
    return 1
  fi
  begin_stage "$1" "$(signature "$items")" "$3"
}
# for_items CALLBACK [OPTIONS...]: CALLBACK KIND NAME OUT WORDS... OPTIONS... per line of $items
for_items() {
  local callback=$1 kind name out words
  shift
  while IFS=$'\t' read -r -u 3 kind name out words; do
    eval "local argv=(${words})"
    "$callback" "$kind" "$name" "$out" "${argv[@]}" "$@"
  done 3<<< "$items"
}
# items_stage N PLAN TITLE CALLBACK [OPTIONS...]: a planned stage, CALLBACK on each item
items_stage() {
  local n=$1 plan_name=$2 title=$3
  shift 3
  stage_items "$n" "$plan_name" "$title" || return 0
  for_items "$@"
  wait_trainings
  end_stage "$n" "$(signature "$items")"
}
# trainings started in the background (--train_jobs > 1): wait for them; any failure stops
background=()
wait_trainings() {
  local pid failed=0
  for pid in "${background[@]}"; do wait "$pid" || failed=1; done
  background=()
  if [ "$failed" -ne 0 ]; then
    echo "$(basename "$0"): a training started in parallel failed (its log: $exp/log/)" >&2
    exit 1
  fi
}
# the callbacks: KIND NAME OUT then the sebench arguments
run_direct() {  # commands that run their own jobs (--nj/--cmd) or are instant
  local kind=$1 name=$2
  shift 3
  say "$kind $name: sebench $*"
  sebench "$@"
}
run_score() {  # a score dir with a summary.json is finished
  if [ -f "$3/summary.json" ] && ! forced "$current"; then return 0; fi
  say "score $2: sebench ${*:4}"
  sebench "${@:4}" > /dev/null
}
run_training() {  # a system's `before` commands (once), then its training through cuda_cmd
  local kind=$1 name=$2 out=$3
  shift 3
  local log="$exp/log/$name.log"
  if [ -f "$out/.done" ] && ! forced "$current"; then   # `sebench train` marks a finished run
    say "$name: already trained ($out)"
    return 0
  fi
  if [ "$kind" = before ]; then
    wait_trainings    # e.g. a search's choice needs every trial
    say "$name: sebench $* (log $log)"
    ${train_cmd} "$log" sebench "$@"
    return
  fi
  local gpu_opts=()
  if [ "$ngpu" -eq 0 ]; then gpu_opts=(--device cpu); fi
  if [ "$ngpu" -gt 1 ] && [ "$1" = train ]; then gpu_opts=(--ngpu "$ngpu"); fi
  say "$name: sebench $* ${gpu_opts[*]} (log $log)"
  if [ "$train_jobs" -gt 1 ] && [[ "$name" =~ \.(seed|trial)[0-9]+$ ]]; then
    # the trials and seeds of a system are independent: up to train_jobs at once
    ${cuda_cmd} --gpu "$ngpu" "$log" sebench "$@" "${gpu_opts[@]}" $(force_opt "$current") &
    background+=($!)
    if [ "${#background[@]}" -ge "$train_jobs" ]; then wait_trainings; fi
    return 0
  fi
  wait_trainings      # anything else may need what the parallel ones train
  ${cuda_cmd} --gpu "$ngpu" "$log" sebench "$@" "${gpu_opts[@]}" $(force_opt "$current")
}

mkdir -p "$exp/log"
# one run per experiment dir: a second ./run.sh would redo stage 1 under the running one
# and both would write the same data/ and exp/. The lock is on an open file (fd 9, which
# the stages' commands inherit), so the kernel drops it however the run ends.
if command -v flock > /dev/null; then
  exec 9>> "$exp/.lock"
  if ! flock -n 9; then
    holder=$(cat "$exp/.lock" 2> /dev/null || true)
    state="PID ${holder:-unknown}"
    if [ -n "$holder" ] && ! kill -0 "$holder" 2> /dev/null; then
      state="PID $holder has ended, a command it started still runs"
    fi
    echo "$(basename "$0"): another run is using $exp ($state; lock $exp/.lock): wait for it or stop it" >&2
    exit 1
  fi
  echo "$$" > "$exp/.lock"
else
  say "warning: flock (util-linux) not found: nothing stops a second run in $exp"
fi
conf=$exp/conf       # the effective configs: conf/ with the --confdir overlay merged
sebench recipe conf --conf conf --confdir "$confdir" --leave-out "$leave_out_sets" \
  --out "$conf" > /dev/null
# every stage's items (from conf/recipe.yaml and conf/eval.yaml), checked before stage 1 runs
seed_opts=()
if [ -n "$seeds" ]; then seed_opts=(--seeds "$seeds"); fi
sebench recipe plan all --conf "$conf" --data "$data" --exp "$exp" --seed "$seed" \
  --systems "$systems" "${seed_opts[@]}" --out "$exp/plan" > /dev/null

# every set the selected systems train on and eval.yaml scores is there (or made by stage 3
# or a `before` command): a missing corpus folder stops here, not after hours of training;
# one line per missing set names it, where it comes from and how to leave it out
check_data() {
  ( if [ -f ./db.sh ]; then set -a; . ./db.sh; set +a; fi   # the roots, for the message
    sebench recipe check-data --conf "$conf" --data "$data" --exp "$exp" --seed "$seed" \
      --systems "$systems" )
}
if begin_stage 1 local "data preparation (local/data.sh)"; then
  local/data.sh --out "$data/local" --conf "$conf" --nj "$nj" --seed "$seed" ${local_data_opts}
  check_data
  end_stage 1 local
elif [ "$stage" -le 3 ] && [ "$stop_stage" -ge 2 ]; then
  check_data          # stage 1 done earlier: the selection may need more sets now
fi

# stage 2's per-set options (conf/recipe.yaml's format:) are part of its signature
format_sets=()
for src in "$data"/local/*/; do
  if [ -f "$src/wav.scp" ]; then format_sets+=("$(basename "$src")"); fi
done
set_format_opts=
if [ "${#format_sets[@]}" -gt 0 ] && selected 2; then
  set_format_opts=$(sebench recipe format-opts --conf "$conf" "${format_sets[@]}")
fi
format_sig="fs=${fs} ${format_opts} $(signature "$set_format_opts")"
if begin_stage 2 "$format_sig" "format the data dirs at ${fs} Hz"; then
  while IFS=$'\t' read -r -u 3 set_name set_opts; do
    [ -n "$set_name" ] || continue
    eval "local_opts=(${set_opts})"
    say "format $data/local/$set_name -> $data/$set_name ${set_opts}"
    sebench data format "$data/local/$set_name" "$data/$set_name" --fs "$fs" --nj "$nj" \
      --cmd "$train_cmd" ${format_opts} "${local_opts[@]}" $(force_opt "$current")
    sebench data validate --no-audio "$data/$set_name"
  done 3<<< "$set_format_opts"
  end_stage 2 "$format_sig"
fi

items_stage 3 simulate "simulate" run_direct --nj "$nj" --cmd "$train_cmd"
items_stage 4 label "quality labels" run_direct --nj "$nj" --cmd "$train_cmd"
items_stage 5 qp "training the quality predictors" run_training
if selected 6 && [ -s "$exp/plan/train.tsv" ]; then   # searches and seeds multiply trainings
  say "stage 6: $(sebench recipe cost --plan "$exp/plan/train.tsv")"
fi
items_stage 6 train "training the systems" run_training
enhance_runner=(--cmd "$decode_cmd")
if [ "$gpu_inference" = true ]; then enhance_runner=(--cmd "$cuda_cmd --gpu 1" --device cuda); fi
items_stage 7 enhance "enhancing the test sets" run_direct --nj "$nj" "${enhance_runner[@]}" \
  $(force_opt 7)
items_stage 8 score "scoring" run_score --nj "$nj" --cmd "$decode_cmd"
# the report reads every score: redo it when one is newer than it (a system rescored or added)
if [ -f "$exp/RESULTS.md" ] && [ -d "$exp/scores" ] && \
   [ -n "$(find "$exp/scores" -name summary.json -newer "$exp/RESULTS.md" | head -n 1)" ]; then
  rm -f "$(marker 9)"
fi
items_stage 9 report "report" run_direct
items_stage 10 pack "packing the models" run_direct

if [ -n "$local_stages" ]; then
  . "$local_stages"
fi
if [ -f "$exp/RESULTS.md" ]; then say "done: $exp/RESULTS.md"; fi
