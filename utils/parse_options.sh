#!/usr/bin/env bash
# Source this after declaring a script's variables with their defaults:
#     stage=0; stop_stage=100; nj=4
#     . utils/parse_options.sh
# The contract (Kaldi's):
#   --foo-bar VALUE (or --foo-bar=VALUE) sets the existing variable foo_bar;
#   an option naming no declared variable is an error;
#   a variable whose default is true/false only takes true or false;
#   --config FILE sources FILE first (its values are defaults the other options override);
#   --help / -h prints $help_message and exits 0;
#   parsing stops at the first argument that does not start with --; the rest stay in "$@".

# --config files first, so explicit options win whatever their position.
for ((_po_i = 1; _po_i <= $#; _po_i++)); do
  if [ "${!_po_i}" = "--config" ]; then
    _po_j=$((_po_i + 1))
    _po_cfg=${!_po_j:-}
    if [ -z "$_po_cfg" ] || [ ! -r "$_po_cfg" ]; then
      echo "$0: --config: cannot read config file '${_po_cfg}'" 1>&2
      exit 1
    fi
    . "$_po_cfg" || { echo "$0: error sourcing config file $_po_cfg" 1>&2; exit 1; }
  fi
done

while [ $# -gt 0 ]; do
  case "$1" in
    --help|-h)
      if [ -n "${help_message:-}" ]; then printf '%s\n' "$help_message"; else echo "$0: no help message"; fi
      exit 0 ;;
    --*=*) _po_name=${1%%=*}; _po_value=${1#*=}; shift ;;
    --?*)
      if [ $# -lt 2 ]; then echo "$0: option $1 needs a value" 1>&2; exit 1; fi
      _po_name=$1; _po_value=$2; shift 2 ;;
    *) break ;;
  esac
  _po_var=${_po_name#--}
  _po_var=${_po_var//-/_}
  [ "$_po_var" = config ] && continue
  if ! [[ "$_po_var" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || [ -z "${!_po_var+set}" ]; then
    echo "$0: invalid option $_po_name (no variable '$_po_var' in this script; see --help)" 1>&2
    exit 1
  fi
  case "${!_po_var}" in
    true|false)
      case "$_po_value" in
        true|false) ;;
        *) echo "$0: option $_po_name takes true or false, got '$_po_value'" 1>&2; exit 1 ;;
      esac ;;
  esac
  printf -v "$_po_var" '%s' "$_po_value"
done
unset _po_i _po_j _po_cfg _po_name _po_value _po_var
true
