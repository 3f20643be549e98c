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


CHECKED = {"seed": 0, "data": {"batch_size": 8, "segment": 3.0, "channel": None},
           "subtype": "PCM_16", "snr_range": [-5.0, 20.0], "snrs": None, "model": {},
           "train": {"epochs": 10, "max_steps": None}}
RULES = {"data.batch_size": config.Range(1),
         "data.segment": config.Range(0, lo_open=True, none=True),
         "data.channel": config.AnyOf(config.Range(0, type=int), config.OneOf("mean"), none=True),
         "subtype": config.OneOf("PCM_16", "FLOAT"), "snr_range": config.Interval(),
         "snrs": config.ListOf(config.Range(), none=True), "train.epochs": config.Range(0),
         "train.max_steps": config.Range(1, type=int, none=True)}


@pytest.mark.timeout(30)
@pytest.mark.parametrize("key, value, message", [
    ("train", 3, "option train: expected a section"),
    ("data.batch_size", 2.5, "option data.batch_size: expected an integer, got 2.5"),
    ("data.batch_size", 0, "option data.batch_size: expected a number >= 1, got 0"),
    ("train.epochs", -3, "option train.epochs: expected a number >= 0, got -3"),
    ("train.max_steps", 10.5, "option train.max_steps: expected an integer >= 1"),
    ("subtype", "PCM_99", "option subtype: expected one of PCM_16, FLOAT, got 'PCM_99'"),
    ("snr_range", [10, 0], "option snr_range: expected \\[low, high\\] with low <= high"),
    ("snr_range", ["a", 1], "option snr_range\\[0\\]: expected a number, got 'a'"),
    ("snr_range", 5, "option snr_range: expected a list"),
    ("snrs", [5, "x"], "option snrs: list item 'x': expected a number"),
    ("data.channel", "left", "option data.channel: expected an integer >= 0 or one of mean"),
    ("data.batch_size", None, "option data.batch_size: must be set"),
    ("seed", True, "option seed: expected an integer, got True"),
    ("data.segment", float("nan"), "option data.segment: expected a number > 0"),
])
def test_values_checked_by_type_and_rule(key, value, message):
    with pytest.raises(ConfigError, match=message):
        config.resolve(CHECKED, overrides=[(key, value)], checks=RULES)


@pytest.mark.timeout(30)
def test_checked_values_pass_and_convert(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("data: {segment: null, channel: mean}\nmodel:\ntrain: {max_steps: 1e3}\n")
    cfg = config.resolve(CHECKED, f, overrides=[("data.batch_size", 4.0), ("snr_range", [0, 5]),
                                                ("snrs", [0, 5])], checks=RULES)
    assert cfg["data"] == {"batch_size": 4, "segment": None, "channel": "mean"}
    assert isinstance(cfg["data"]["batch_size"], int) and cfg["snr_range"] == [0.0, 5.0]
    assert cfg["model"] == {} and cfg["train"]["max_steps"] == 1000
    with pytest.raises(KeyError, match="not in the defaults"):
        config.check_values(CHECKED, CHECKED, {"data.bach_size": config.Range(1)})


@pytest.mark.timeout(60)
def test_every_shipped_config_passes_its_commands_checks():
    """conf/ and the recipes' YAMLs resolve against their command's defaults and rules."""
    from sebench.cli import rir, simulate, synth_corpus
    from sebench.train import config as train
    from tests.conftest import REPO
    kinds = {"train": (train.DEFAULTS, train.CHECKS),
             "simulate": (simulate._defaults(), simulate.CHECKS),
             "rir": (rir._defaults(), rir.CHECKS),
             "synth": (synth_corpus._defaults(), synth_corpus.CHECKS)}
    checked = 0
    for path in sorted(REPO.glob("conf/*/*.yaml")) + sorted(REPO.glob("egs/*/*/conf/**/*.yaml")):
        kind = next((k for k in kinds if path.name.startswith(k) or path.parent.name == k), None)
        if kind:
            config.resolve(kinds[kind][0], path, checks=kinds[kind][1])
            checked += 1
    assert checked >= 20
