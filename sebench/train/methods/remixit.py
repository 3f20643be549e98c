"""RemixIT (Tzinis et al., IEEE JSTSP 2022): continual self-training by bootstrapped remixing.

A teacher (``teacher: EXP``, e.g. the supervised or a MixIT model) estimates the speech s_t
of each real noisy recording y in a batch, and its noise n_t = y - s_t. The noises are
permuted across the batch (a seeded draw per step) and remixed, y' = s_t + n_t[perm], and
the student learns to recover s_t from y' with the ``loss:`` terms (``sisdr`` by default),
plus ``noise_weight`` x the same terms on its noise estimate y' - s_hat against n_t[perm].
The student starts from the teacher's weights (``student_init: teacher``, the paper's
continual self-training; ``scratch`` for a fresh model, which then needs the teacher's
architecture only through the shared ``model:`` config).

The teacher follows the student as an exponential moving average every ``ema_every`` steps:
theta_T <- gamma theta_T + (1 - gamma) theta_S with ``ema_decay`` gamma (ours: per steps, the
paper updates per epoch; ``ema_every: 0`` keeps the teacher frozen). The teacher is a model
of the checkpoint (not trained by any optimiser), so a resumed run continues exactly.
"""
import torch

from sebench.errors import ConfigError
from sebench.simulate.seeding import item_rng
from sebench.train.losses import build_loss, sample_mask
from sebench.train.methods.base import TrainingMethod


def remix(speech, noise, lengths, perm):
    """y' = s_t + n_t[perm], each row cut to its own true length; and the permuted noise."""
    mask = sample_mask(lengths, speech.shape[-1], speech.device)
    noise_perm = noise[perm] * mask
    return (speech * mask + noise_perm), noise_perm


@torch.no_grad()
def ema_update(teacher, student, decay):
    """theta_T <- decay * theta_T + (1 - decay) * theta_S, for every float parameter and
    buffer (integer buffers are copied)."""
    s_state = student.state_dict()
    for name, t in teacher.state_dict().items():
        s = s_state[name]
        if torch.is_floating_point(t):
            t.mul_(decay).add_(s.detach(), alpha=1.0 - decay)
        else:
            t.copy_(s)


class RemixIT(TrainingMethod):
    options = {"teacher": None, "student_init": "teacher", "ema_decay": 0.99, "ema_every": 1,
               "noise_weight": 1.0}
    streams = {"train": ("wav",)}
    valid_fields = ("wav",)
    reads_loss = True

    def __init__(self, cfg, trainer):
        super().__init__(cfg, trainer)
        o = self.opts
        if not o["teacher"]:
            raise ConfigError("remixit needs method_options.teacher: a trained SE experiment "
                              "(e.g. the supervised or a MixIT model)")
        if o["student_init"] not in ("teacher", "scratch"):
            raise ConfigError(f"method_options.student_init must be teacher or scratch, got "
                              f"{o['student_init']!r}")
        if not 0.0 <= float(o["ema_decay"]) <= 1.0 or int(o["ema_every"]) < 0:
            raise ConfigError("method_options: ema_decay must be in [0, 1] and ema_every >= 0")
        self.loss = build_loss(cfg.get("loss"), default="sisdr")

    def build_models(self):
        from sebench.models.store import load_model
        from sebench.train.methods.common import init_from
        teacher, _ = load_model(self.opts["teacher"], kinds={"se"})
        student = self.build_se()
        if self.opts["student_init"] == "teacher":
            init_from(student, self.opts["teacher"])
        return {"se": student, "teacher": teacher.requires_grad_(False)}

    def prepare(self, train_set):
        if self.opts["student_init"] == "scratch":
            self.init_normalization(train_set)

    @torch.no_grad()
    def teacher_estimates(self, wav, lengths):
        """(s_t, n_t = y - s_t), zero beyond each row's length."""
        mask = sample_mask(lengths, wav.shape[-1], wav.device)
        speech = self.module("teacher").eval()(wav)["wave"] * mask
        return speech, wav * mask - speech

    def permutation(self, size, index, salt="remixit-perm"):
        return torch.as_tensor(item_rng(self.cfg["seed"], index, salt).permutation(size))

    def losses(self, net, batch, perm):
        speech, noise = self.teacher_estimates(batch["wav"], batch["lengths"])
        mixed, noise_perm = remix(speech, noise, batch["lengths"], perm.to(speech.device))
        out = net(mixed)
        pair = {"wav": mixed, "clean": speech, "clean_rev": speech, "lengths": batch["lengths"]}
        loss_s = self.loss(out, pair, self.module("se")).mean()
        loss = loss_s
        if self.opts["noise_weight"]:
            noise_out = {"wave": mixed - out["wave"]}
            noise_pair = dict(pair, clean=noise_perm, clean_rev=noise_perm)
            loss_n = self.loss(noise_out, noise_pair, self.module("se")).mean()
            loss = loss_s + float(self.opts["noise_weight"]) * loss_n
        return loss, loss_s

    def train_step(self, batch):
        step = self.trainer.state["step"]
        perm = self.permutation(batch["wav"].shape[0], step)
        with self.trainer.autocast():
            loss, loss_s = self.losses(self.net("se"), batch, perm)
        self.trainer.optimize("se", loss)
        every = int(self.opts["ema_every"])
        if every and (step + 1) % every == 0:
            ema_update(self.module("teacher"), self.module("se"), float(self.opts["ema_decay"]))
        return {"loss": float(loss.detach()), "speech": float(loss_s.detach())}

    @torch.no_grad()
    def valid_step(self, batch):
        import zlib
        index = zlib.crc32(" ".join(batch["keys"]).encode())   # the same remix every time
        loss, loss_s = self.losses(self.module("se"), batch,
                                   self.permutation(batch["wav"].shape[0], index, "remixit-valid"))
        return {"loss": float(loss), "speech": float(loss_s)}
