"""What a training method declares to the trainer.

A method names its models (``build_models``), which optimiser updates which models
(``optimizers``), the data fields it reads, and one training and validation step. The
trainer owns everything else: devices, DDP wrapping, AMP, accumulation, clipping,
schedules, checkpoints, resume, logging and validation scheduling.
"""
import torch


class TrainingMethod:
    #: fields of the training data dir that one batch holds (wav.scp always)
    train_fields = ("wav",)
    valid_fields = ("wav",)
    #: the model exported to model/ for `sebench enhance`
    export = "se"
    #: extra config keys and their defaults (the `method_options:` section)
    options = {}

    def __init__(self, cfg, trainer):
        self.cfg = cfg
        self.opts = dict(self.options, **(cfg.get("method_options") or {}))
        self.trainer = trainer

    def build_models(self):
        """{name: nn.Module}; the trainer moves them to the device and wraps them for DDP."""
        raise NotImplementedError

    def optimizers(self):
        """{optimiser name: [model names]}; each gets the config `optim.<name>`."""
        return {"se": ["se"]}

    def prepare(self, train_set):
        """Once, before the first step of a fresh run (not on resume): e.g. input statistics."""

    def train_step(self, batch):
        """One step; call ``self.trainer.optimize(name, loss)``; return {term: float}."""
        raise NotImplementedError

    @torch.no_grad()
    def valid_step(self, batch):
        """{term: float}; ``loss`` is the criterion for schedules, early stopping, best."""
        raise NotImplementedError

    def valid_summary(self):
        """Extra validation values computed over the whole validation set (after valid_step)."""
        return {}

    def export_config(self):
        """The config written to model/model.yaml for the exported model."""
        return self.cfg["model"]

    def state_dict(self):
        return {}

    def load_state_dict(self, state):
        pass

    def close(self):
        """Release resources (worker pools) at the end of training."""

    # -- helpers shared by the SE-training methods ------------------------------------------
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
        model = self.model(name)
        if not self.opts.get("init_from") and hasattr(model, "set_normalization") \
                and model.normalize:
            model.set_normalization(*feature_statistics(model, train_set,
                                                        self.cfg["data"]["norm_utts"]))

    def quality_target(self, scale):
        """MOS_max (or PESQ_max) on a predictor's scale, or ``method_options.target``."""
        target = self.opts.get("target")
        return scale.best if target is None else float(scale.normalize(float(target)))

    def model(self, name):
        """The bare module (unwrapped from DDP)."""
        return self.trainer.bare(name)
