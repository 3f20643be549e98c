#!/usr/bin/env bash
# The demo's supervised row (issue 30): loss x mask floor x seed, each trained with the mini
# recipe's own config, enhanced and scored on the paired test set, beside the noisy input and
# spectral subtraction. Run it in egs/mini/se1 after `./run.sh --stop_stage 3`.
#
#   bench/mini_supervised_ablation.sh OUT_DIR [SEEDS]        # SEEDS default "0 1 2"
#
# Prints one line per (variant, seed) and the mean and std over seeds of each variant.
set -euo pipefail
out=$1 seeds=${2:-0 1 2}
root=$(cd "$(dirname "$0")/.." && pwd)
sebench=$root/.venv/bin/sebench
[ -d data/train ] && [ -d data/test ] && [ -f conf/train_supervised.yaml ] || {
  echo "$0: run it in egs/mini/se1 after ./run.sh --stop_stage 3 (no data/train, data/test)" >&2; exit 1; }
metrics=pesq_wb,stoi,sisdr,csig,cbak,covl
declare -A variants=(
  [mag_mse_floor0.15]="--loss {\"name\":\"mag_mse\"} --model.mask_floor 0.15"
  [mag_mse_floor0.05]="--loss {\"name\":\"mag_mse\"} --model.mask_floor 0.05"
  [compressed_floor0.05]="--model.mask_floor 0.05"
  [compressed_floor0]="--model.mask_floor 0"
)
mkdir -p "$out"
score() {   # ENH_DIR OUT
  [ -f "$2/summary.json" ] || "$sebench" score --enh "$1" --ref data/test --metrics $metrics \
    --out "$2" > "$2.log" 2>&1
}
mkdir -p "$out/noisy" "$out/specsub"
score data/test "$out/noisy/scores"
[ -f "$out/specsub/enh/wav.scp" ] || "$sebench" enhance classical:conf/specsub.yaml data/test \
  -o "$out/specsub/enh" > "$out/specsub/enhance.log" 2>&1
score "$out/specsub/enh" "$out/specsub/scores"
for name in "${!variants[@]}"; do
  for seed in $seeds; do
    run=$out/$name/seed$seed
    mkdir -p "$run"
    if [ ! -f "$run/exp/model/model.pt" ]; then
      # shellcheck disable=SC2086   # the variant's overrides are separate words
      "$sebench" train --config conf/train_supervised.yaml --model-config conf/se.yaml \
        --train data/train --valid data/valid --exp "$run/exp" --seed "$seed" \
        ${variants[$name]} > "$run/train.log" 2>&1 || { echo "$name seed $seed: training failed, see $run/train.log" >&2; exit 1; }
    fi
    [ -f "$run/enh/wav.scp" ] || "$sebench" enhance "$run/exp" data/test -o "$run/enh" > "$run/enhance.log" 2>&1
    score "$run/enh" "$run/scores"
  done
done
"$root/.venv/bin/python" - "$out" $metrics <<'PY'
import json, pathlib, statistics, sys
out, metrics = pathlib.Path(sys.argv[1]), sys.argv[2].split(",")
def means(d):
    m = json.loads((d / "summary.json").read_text())["metrics"]
    return [m[k]["mean"] for k in metrics]
print("| system | seeds | " + " | ".join(metrics) + " |")
print("|---" * (len(metrics) + 2) + "|")
for name in ["noisy", "specsub"]:
    print(f"| {name} | – | " + " | ".join(f"{v:.3f}" for v in means(out / name / "scores")) + " |")
for var in sorted(p for p in out.iterdir() if any(p.glob("seed*"))):
    rows = [means(s / "scores") for s in sorted(var.glob("seed*"))]
    cells = []
    for i in range(len(metrics)):
        vals = [r[i] for r in rows]
        sd = statistics.stdev(vals) if len(vals) > 1 else 0.0
        cells.append(f"{statistics.mean(vals):.3f} ± {sd:.3f}")
    print(f"| {var.name} | {len(rows)} | " + " | ".join(cells) + " |")
PY
