# Environment for the recipe: the repo's virtual environment (made by `make install`) and
# the Kaldi-style tools in utils/. Symlinked into every recipe; sourced by se.sh and local/*.sh.
# The link is followed, so a recipe works wherever it lives.
SEBENCH_ROOT=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../../.." && pwd)
if [ -x "$SEBENCH_ROOT/.venv/bin/sebench" ]; then
  export PATH="$SEBENCH_ROOT/.venv/bin:$PATH"
fi
export PATH="$SEBENCH_ROOT/utils:$PATH"
export PYTHONUNBUFFERED=1
if ! command -v sebench >/dev/null; then
  echo "path.sh: no sebench on PATH; run 'make install' in $SEBENCH_ROOT first" >&2
  return 1 2>/dev/null || exit 1
fi
