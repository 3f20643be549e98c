"""The contract between a training method and the shared trainer.

A method is a small module: it names its networks, which optimiser updates which of them,
the data it reads, one training step, one validation step and what it exports. The trainer
(``sebench/train/trainer.py``) owns everything else: devices, DDP wrapping, AMP, gradient
accumulation, clipping and non-finite skips, LR schedules, data streams and their resumable
positions, validation scheduling and background metrics, checkpoints and exact resume,
best/n-best selection, early stopping, logs and the export of ``model*/`` folders.

Declared by the class (or set in ``__init__`` from the options)
---------------------------------------------------------------
``options``         ``{key: default}``: the ``method_options:`` schema. Unknown keys are a
                    one-line ConfigError; values are coerced to the default's type.
``streams``         ``{name: fields}``: the training data. ``fields`` are scp fields of a data
                    dir (``wav``, ``clean``, ``clean_rev``, ``noise``) or ``label:NAME``
                    (``utt2NAME``, one float per utterance). The first stream defines the
                    epoch, the others cycle. CLI: ``--train DIR`` for a one-stream method,
                    ``--train NAME=DIR`` per stream otherwise.
``valid_fields``    fields of the ``--valid`` data dir (default: the first stream's).
``reads_loss``      True when the method reads the top-level ``loss:`` section
                    (``build_loss(self.cfg["loss"])`` from ``sebench.train.losses``); for
                    other methods a ``loss:`` section is an error.
``teacher_guided``  True when the method learns from a teacher it can fool (the trainer
                    warns when the best checkpoint is then chosen by the validation loss).

Methods the trainer calls
-------------------------
``build_models() -> {name: nn.Module}``   once; the trainer moves them to the device and
                    wraps trained ones for DDP.
``optimizers() -> {optimiser: [model names]}``   each needs ``optim.<optimiser>`` (or an
                    explicit ``optim.default``) in the config; ``optim.<optimiser>.accum_grad:
                    N | epoch`` sets when it updates.
``prepare(train_set)``   once before the first step of a fresh run (not on resume), with the
                    primary stream's dataset: e.g. input-normalisation statistics.
``on_epoch_start(epoch)``   before the first batch of an epoch (not again when a run
                    resumes mid-epoch: keep what it decides in ``state_dict``).
``train_step(batch) -> {term: float}``   one step. ``batch`` is the primary stream's batch
                    (``wav``, other fields, ``lengths``, ``keys``) for a one-stream method,
                    ``{stream: batch}`` for several. Call ``self.trainer.optimize(opt, loss)``
                    (backward, and an update at the end of every ``accum_grad``-th step), or
                    ``backward(opt, loss)`` and ``step(opt)`` yourself (the trainer itself
                    updates only ``accum_grad: epoch`` optimisers, at the end of the epoch).
                    An update applies the mean of the gradients accumulated since the last
                    one. The returned terms are averaged into ``train_log.csv``.
``on_epoch_end(epoch)``   after the epoch's last step and after the trainer applied the
                    gradients of ``accum_grad: epoch`` optimisers.
``valid_step(batch) -> {term: float}``   under no_grad, on ``--valid`` batches; averaged over
                    the set. ``loss`` is the default term that ``best_by: valid_loss`` and the
                    schedulers (``scheduler[.<opt>].monitor``) watch; return one term per
                    network (``loss``, ``d_loss``...) to give each its own.
``valid_summary() -> {name: float}``   after the validation set (e.g. correlations).
``on_validation_end(values)``   after each validation, on every DDP rank, with the averaged
                    terms (what ``valid_log.csv`` gets).
``enhance(wave) -> wave``   the enhancer whose outputs the background metrics score
                    (default: the primary export's model).
``exports() -> {name: Export(weights, config)}``   the trained models to write: the first to
                    ``model/``, every other to ``model_<name>/``; all from the same selected
                    checkpoint (best, n-best average or last). ``weights`` names a model of
                    ``build_models`` (or ``{part: model}`` for a ``kind: composite`` config);
                    ``config`` is its model.yaml (``kind`` se, predictor, vqvae, vae...).
``state_dict()`` / ``load_state_dict(state)``   anything else the method must carry across
                    a resume (replay buffers, label caches, the current phase).
``close()``          release worker pools at the end.

Config keys (``optim``, ``scheduler``, ``train.best_by``...): ``sebench/train/config.py``.

Trainer API for methods
-----------------------
``trainer.net(name)``     the model to run a forward *with gradients* through (DDP-wrapped
                          when training on several processes).
``trainer.module(name)``  the bare module: no-grad forwards, frozen teachers, attributes.
``trainer.autocast()``    the AMP context for forwards.
``trainer.optimize(opt, loss)``, ``trainer.backward(opt, loss)``, ``trainer.step(opt)``.
``trainer.streams[name].dataset``, ``trainer.device``, ``trainer.state["epoch"|"step"]``.

Minimal example (two networks, one optimiser each; G updates every step, D once per epoch
with the mean gradient of the whole epoch)::

    class Example(TrainingMethod):
        options = {"weight": 0.5}
        streams = {"paired": ("wav", "clean"), "unpaired": ("wav",)}

        def build_models(self):
            return {"g": build_model(self.cfg["model"]), "d": Critic()}

        def optimizers(self):
            return {"g": ["g"], "d": ["d"]}       # config: optim.g, optim.d.accum_grad: epoch

        def train_step(self, batch):
            paired, unpaired = batch["paired"], batch["unpaired"]
            out = self.net("g")(paired["wav"])
            loss_g = ((out["wave"] - paired["clean"]) ** 2).mean()
            self.trainer.optimize("g", loss_g)
            with torch.no_grad():
                fake = self.module("g")(unpaired["wav"])["wave"]
            loss_d = self.net("d")(fake, unpaired["lengths"]).pow(2).mean()
            self.trainer.backward("d", self.opts["weight"] * loss_d)   # applied at epoch end
            return {"loss": float(loss_g.detach()), "d_loss": float(loss_d.detach())}

        @torch.no_grad()
        def valid_step(self, batch):
            out = self.module("g")(batch["wav"])
            return {"loss": float(((out["wave"] - batch["clean"]) ** 2).mean())}

        def exports(self):
            return {"g": Export("g", self.cfg["model"]),
                    "d": Export("d", {"kind": "predictor", "name": "critic"})}

Register it in ``sebench/train/methods/__init__.py`` (``METHODS``) and it runs as
``sebench train --method example --train paired=data/train --train unpaired=data/real``.
"""
from collections import namedtuple

import torch

from sebench.config import check_section

#: an exported model: ``weights`` a model name (or {part: model name}), ``config`` its model.yaml
Export = namedtuple("Export", "weights config")


class TrainingMethod:
    options = {}
    streams = {"train": ("wav",)}
    valid_fields = None
    reads_loss = False
    teacher_guided = False

    def __init__(self, cfg, trainer):
        self.cfg = cfg
        self.opts = check_section(cfg.get("method_options"), self.options, "method_options")
        self.trainer = trainer
        self.streams = dict(self.streams)
        if self.valid_fields is None:
            self.valid_fields = next(iter(self.streams.values()))

    def build_models(self):
        raise NotImplementedError

    def optimizers(self):
        return {"se": ["se"]}

    def prepare(self, train_set):
        pass

    def on_epoch_start(self, epoch):
        pass

    def on_epoch_end(self, epoch):
        pass

    def on_validation_end(self, values):
        pass

    def train_step(self, batch):
        raise NotImplementedError

    @torch.no_grad()
    def valid_step(self, batch):
        raise NotImplementedError

    def valid_summary(self):
        return {}

    def exports(self):
        return {"se": Export("se", self.cfg["model"])}

    def enhance(self, wave):
        weights = next(iter(self.exports().values())).weights
        return self.module(weights)(wave)["wave"]

    def state_dict(self):
        return {}

    def load_state_dict(self, state):
        pass

    def close(self):
        pass

    # -- helpers ------------------------------------------------------------------------------
    def net(self, name):
        """The model for a forward with gradients (DDP-wrapped under DDP)."""
        return self.trainer.net(name)

    def module(self, name):
        """The bare module (unwrapped from DDP)."""
        return self.trainer.module(name)

    def build_se(self):
        """The SE model of ``cfg["model"]``, started from ``method_options.init_from`` if given."""
        from sebench.models import build_model
        from sebench.train.methods.common import init_from
        se = build_model(self.cfg["model"])
        if self.opts.get("init_from"):
            init_from(se, self.opts["init_from"])
        return se

    def init_normalization(self, train_set, name="se"):
        """Input statistics from the training data, unless the weights came from init_from."""
        from sebench.train.data import feature_statistics
        model = self.module(name)
        if not self.opts.get("init_from") and hasattr(model, "set_normalization") \
                and model.normalize:
            model.set_normalization(*feature_statistics(model, train_set,
                                                        self.cfg["data"]["norm_utts"]))

    def quality_target(self, scale):
        """MOS_max (or PESQ_max) on a predictor's scale, or ``method_options.target``."""
        return scale.target(self.opts.get("target"))
