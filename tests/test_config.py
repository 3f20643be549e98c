import pytest

from sebench import config
from sebench.errors import ConfigError

DEFAULTS = {"seed": 0, "train": {"lr": 1e-3, "epochs": 10, "amp": False},
            "model": {}, "name": "x"}


def test_precedence_defaults_file_flags_overrides(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("seed: 1\ntrain:\n  lr: 0.01\n  epochs: 5\n")
    cfg = config.resolve(DEFAULTS, f, flags={"seed": 2, "train.epochs": None},
                         overrides=config.parse_overrides(["--train.lr", "1e-4", "--train.amp=true"]))
    assert cfg["seed"] == 2 and cfg["train"]["epochs"] == 5
    assert cfg["train"]["lr"] == pytest.approx(1e-4) and cfg["train"]["amp"] is True
    assert DEFAULTS["seed"] == 0  # defaults untouched


def test_unknown_keys_rejected_except_free_form(tmp_path):
    with pytest.raises(ConfigError, match="unknown option --train.lrr"):
        config.resolve(DEFAULTS, overrides=[("train.lrr", 1)])
    cfg = config.resolve(DEFAULTS, overrides=[("model.hidden", 64)])
    assert cfg["model"]["hidden"] == 64
    f = tmp_path / "bad.yaml"
    f.write_text("trian: {lr: 1}\n")
    with pytest.raises(ConfigError, match="unknown config key 'trian'"):
        config.resolve(DEFAULTS, f)


def test_type_checks_and_bad_files(tmp_path):
    with pytest.raises(ConfigError, match="expected a number"):
        config.resolve(DEFAULTS, overrides=[("train.lr", "fast")])
    with pytest.raises(ConfigError, match="expected true/false"):
        config.resolve(DEFAULTS, overrides=[("train.amp", 3)])
    with pytest.raises(ConfigError, match="not found"):
        config.load_yaml(tmp_path / "missing.yaml")
    (tmp_path / "b.yaml").write_text("a: [1\n")
    with pytest.raises(ConfigError, match="invalid YAML"):
        config.load_yaml(tmp_path / "b.yaml")
    with pytest.raises(ConfigError, match="needs a value"):
        config.parse_overrides(["--seed"])


def test_save_config_records_provenance(tmp_path):
    out = tmp_path / "config.yaml"
    config.save_config(DEFAULTS, out, command="sebench x")
    text = out.read_text()
    assert "git" in text and "torch=" in text and "command: sebench x" in text
    assert config.load_yaml(out)["train"]["epochs"] == 10
