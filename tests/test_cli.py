import pytest

from conftest import run_cli
from sebench.cli.main import COMMANDS


def test_help_lists_every_command():
    out = run_cli("--help").stdout
    for name in COMMANDS:
        assert f"  {name}" in out


def test_version_has_commit():
    out = run_cli("--version").stdout
    assert out.startswith("sebench ") and "git " in out


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_has_help_with_example(name):
    out = run_cli(name, "--help").stdout
    assert f"sebench {name}" in out and "example:" in out


def test_unknown_command_suggests():
    proc = run_cli("dat", check=False)
    assert proc.returncode == 2 and "did you mean 'data'" in proc.stderr


def test_user_error_is_one_line_without_traceback(tmp_path):
    proc = run_cli("data", "validate", tmp_path / "nope", check=False)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    proc = run_cli("data", "info", tmp_path / "nope", check=False)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().count("\n") == 0 and "data dir not found" in proc.stderr
    proc = run_cli("--debug", "data", "info", tmp_path / "nope", check=False)
    assert "Traceback" in proc.stderr
