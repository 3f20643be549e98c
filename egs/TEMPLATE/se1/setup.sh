#!/usr/bin/env bash
# Create a new recipe from the template:  egs/TEMPLATE/se1/setup.sh egs/<corpus>/se1 [VAR]
# Links se.sh, db.sh, path.sh and utils/ to the template (Kaldi style) and writes cmd.sh
# (the runner backend) and skeletons of run.sh, local/data.sh (reading the db.sh variable
# VAR, default the corpus name in capitals) and conf/{recipe,eval}.yaml to fill in.
set -euo pipefail
if [ $# -lt 1 ] || [ $# -gt 2 ]; then
  echo "usage: $0 egs/<corpus>/se1 [DB_VARIABLE]" >&2
  exit 1
fi
template=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
dir=$1
if [ -e "$dir" ]; then
  echo "$0: $dir exists; not overwriting it" >&2
  exit 1
fi
corpus=$(basename "$(dirname "$(readlink -m "$dir")")")
var=${2:-$(echo "$corpus" | tr '[:lower:]-' '[:upper:]_')}
mkdir -p "$dir/local" "$dir/conf"
rel=$(realpath --relative-to="$dir" "$template")
for f in se.sh db.sh path.sh; do ln -s "$rel/$f" "$dir/$f"; done
ln -s "$(realpath --relative-to="$dir" "$template/../../../utils")" "$dir/utils"
for f in run.sh cmd.sh local/data.sh conf/recipe.yaml conf/eval.yaml; do
  sed -e "s/CORPUSVAR/${var}/g" -e "s/CORPUS/${corpus}/g" "$template/skeleton/$f" > "$dir/$f"
done
chmod +x "$dir/run.sh" "$dir/local/data.sh"
echo "created $dir: fill in local/data.sh, conf/recipe.yaml, conf/eval.yaml and the configs"
