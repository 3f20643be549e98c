#!/usr/bin/env bash
# Kaldi-compatible job runner (slurm.pl), implemented in Python: see `utils/slurm.pl --help`.
#   utils/slurm.pl [--max-jobs-run N] [--mem 4G] [--gpu 1] [--num-threads T] [--time HH:MM:SS] \
#       [--pick all|failed|incomplete] JOB=1:N log/name.JOB.log command args...
here=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")
root=$(dirname "$here")
py=python3
[ -x "$root/.venv/bin/python" ] && py="$root/.venv/bin/python"
PYTHONPATH="$root${PYTHONPATH:+:$PYTHONPATH}" exec "$py" -m sebench.jobs slurm "$@"
