"""utils/check_system.sh: what `make install` needs from the system, named with its apt line."""
import subprocess
import sys

from conftest import REPO

CHECK = REPO / "utils" / "check_system.sh"


def check(python):
    return subprocess.run([str(CHECK), str(python)], capture_output=True, text=True, timeout=60)


def test_this_machine_passes():
    out = check(sys.executable)
    assert out.returncode == 0, out.stderr


def test_missing_python_headers_name_the_apt_line(tmp_path):
    # a Python whose headers folder is empty, as on Debian without python3-dev
    fake = tmp_path / "python3"
    fake.write_text(f"""#!/usr/bin/env bash
case "$*" in *get_paths*) echo {tmp_path}/include; exit 0 ;; esac
exec {sys.executable} "$@"
""")
    fake.chmod(0o755)
    out = check(fake)
    assert out.returncode == 1
    assert f"no Python headers ({tmp_path}/include/Python.h) to build pesq" in out.stderr
    assert "sudo apt-get update && sudo apt-get install -y python3-dev" in out.stderr


def test_missing_python_is_named(tmp_path):
    out = check(tmp_path / "no-such-python")
    assert out.returncode == 1
    assert "apt-get install -y python3\n" in out.stderr
