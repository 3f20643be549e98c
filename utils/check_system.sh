#!/usr/bin/env bash
# utils/check_system.sh [PYTHON]: what sebench needs from the system that pip cannot install.
# Run by `make install` before anything is downloaded; prints the apt-get line for whatever
# is missing and exits 1.
#
# At run time sebench needs only bash and Python: the native libraries come in the wheels
# (libsndfile in soundfile, libsoxr in soxr, libespeak-ng and its voice data in
# espeakng-loader, ONNX Runtime, torch, FFmpeg in PyAV's wheels for m4a/aac/opus), so no
# ffmpeg, sox or espeak-ng program is needed. What the
# system must provide is for the install itself: `python3 -m venv`, and a C compiler with
# the Python headers, because pesq is published only as source and is compiled here.
set -u
py=${1:-python3}
missing=()
why=()

want() { missing+=("$1"); why+=("$2"); }

version=$("$py" -c 'import platform; print(platform.python_version())' 2>/dev/null)
if [ -z "$version" ]; then
  want python3 "no working $py"
elif ! "$py" -c 'import sys; sys.exit(sys.version_info < (3, 10))'; then
  want python3 "$py is $version, need >= 3.10"
else
  "$py" -c 'import ensurepip, venv' 2>/dev/null || want python3-venv "$py -m venv does not work"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  cc=$("$py" -c 'import sysconfig; print(sysconfig.get_config_var("CC") or "cc")')
  inc=$("$py" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
  printf '#include <Python.h>\nint main(void) { return 0; }\n' > "$tmp/t.c"
  if ! command -v "${cc%% *}" >/dev/null; then
    want gcc "no C compiler (${cc%% *}) to build pesq"
  elif [ ! -f "$inc/Python.h" ]; then
    want python3-dev "no Python headers ($inc/Python.h) to build pesq"
  elif ! $cc -I"$inc" -c "$tmp/t.c" -o "$tmp/t.o" 2>"$tmp/err"; then
    want build-essential "the C compiler cannot build a Python extension: $(head -n 1 "$tmp/err")"
  fi
fi
if [ "${BASH_VERSINFO[0]}" -lt 4 ]; then
  want bash "bash ${BASH_VERSION} is too old for the runners and recipes (need >= 4)"
fi

[ ${#missing[@]} -eq 0 ] && exit 0
for reason in "${why[@]}"; do echo "check_system: $reason" >&2; done
echo "check_system: install what is missing, then rerun make:" >&2
echo "    sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
exit 1
