"""Trained sebench quality predictors as non-intrusive metrics of ``sebench score``.

``--qp [NAME=]PATH`` scores every estimate (and the noisy input) with the predictor at PATH
(an experiment of ``sebench train-qp``, a model dir, a packed zip, or the name of a predictor
whose weights ship with its package, e.g. ``distillmos``) and reports it as the column
``qp_<NAME>`` (NAME defaults to PATH's folder name without a leading ``qp_``). A method
trained against that predictor (its *teacher*) can then be judged by the teacher itself
beside independent predictors such as DNSMOS.
"""
import hashlib
import os
import re

from sebench.errors import ConfigError

PREFIX = "qp_"
NAME = re.compile(r"^[A-Za-z0-9_]+$")
#: CPU seconds per second of 16 kHz audio (balances score shards); tiny CNNs/BLSTMs
COST = 0.01


def column_of(name):
    return PREFIX + name


class PredictorMetric:
    """One ``--qp`` spec: the column it fills and the predictor, loaded on first use."""

    def __init__(self, spec):
        from sebench.quality import PRETRAINED

        name, eq, path = str(spec).rpartition("=")
        if not path:
            raise ConfigError(f"--qp {spec}: expected [NAME=]PATH")
        self.pretrained = path in PRETRAINED
        if not eq:
            base = os.path.basename(os.path.normpath(path))
            name = base[len(PREFIX):] if base.startswith(PREFIX) and len(base) > len(PREFIX) else base
        if not NAME.match(name):
            raise ConfigError(f"--qp {spec}: the name '{name}' must be letters, digits and _")
        self.name, self.column = name, column_of(name)
        if self.pretrained:
            self.path = path
        else:
            from sebench.models.store import resolve_model_dir
            try:
                self.path = os.path.abspath(resolve_model_dir(path))
            except Exception as e:     # noqa: BLE001 - SebenchError, or a zip that cannot open
                raise ConfigError(f"--qp {spec}: {e}") from None
        self._q = None

    def spec(self):
        """The spec that rebuilds this metric in a scoring job."""
        return f"{self.name}={self.path}"

    def identity(self):
        """What the cached noisy scores depend on: the predictor's config and weights."""
        if self.pretrained:
            return self.path
        h = hashlib.sha1()
        for name in ("model.yaml", "model.pt"):
            try:
                with open(os.path.join(self.path, name), "rb") as f:
                    h.update(f.read())
            except OSError:
                h.update(name.encode())
        return h.hexdigest()

    def load(self):
        if self._q is None:
            from sebench.train.methods.common import load_predictor
            self._q = load_predictor(self.path)
        return self._q

    def __call__(self, audio, fs):
        """The predictor's score of one mono recording, on its label's scale."""
        from sebench.quality.predict import predict_wave
        return predict_wave(self.load(), audio, fs)


def predictor_metrics(specs):
    """``--qp`` specs -> [PredictorMetric], columns unique."""
    metrics = [PredictorMetric(s) for s in specs or ()]
    columns = [m.column for m in metrics]
    for col in columns:
        if columns.count(col) > 1:
            raise ConfigError(f"--qp: two predictors would both be column {col}; name them "
                              "(NAME=PATH)")
    return metrics
