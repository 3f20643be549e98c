"""Training logs: CSV files (append-only, resumable) and TensorBoard when installed."""
import csv
import os

from sebench.utils.fileio import atomic_path


class CSVLog:
    """Rows with a growing set of columns; rows after ``truncate_after(step)`` are dropped on resume.

    ``writer=False`` (every DDP rank but the main one) keeps the rows without writing: ranks
    sharing one file and one temporary name would race."""

    def __init__(self, path, writer=True):
        self.path = path
        self.writer = writer
        self.rows = []
        if os.path.isfile(path):
            with open(path, newline="") as f:
                self.rows = list(csv.DictReader(f))

    def truncate_after(self, step, drop=()):
        """Keep the rows up to ``step``, except those of the steps in ``drop``."""
        drop = set(drop)
        self.rows = [r for r in self.rows if int(float(r["step"])) <= step
                     and int(float(r["step"])) not in drop]
        self._flush()

    def add(self, row):
        self.rows.append({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()})
        self._flush()

    def _flush(self):
        if not self.writer:
            return
        columns = []
        for r in self.rows:
            columns += [c for c in r if c not in columns]
        with atomic_path(self.path) as tmp, open(tmp, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=columns or ["step"])
            w.writeheader()
            w.writerows(self.rows)


class TensorBoard:
    def __init__(self, log_dir):
        try:
            from torch.utils.tensorboard import SummaryWriter
            self.writer = SummaryWriter(log_dir)
        except Exception:  # noqa: BLE001 - tensorboard is optional
            self.writer = None

    def scalars(self, prefix, values, step):
        if self.writer is None:
            return
        for k, v in values.items():
            if isinstance(v, (int, float)) and k not in ("step", "epoch"):
                self.writer.add_scalar(f"{prefix}/{k}", v, step)
        self.writer.flush()

    def close(self):
        if self.writer is not None:
            self.writer.close()


def plot_curves(exp_dir, valid_rows, metric_rows, out_png, teacher_key=None):
    """Validation loss and metrics against steps (paper 000 Fig. 1 style), one PNG."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    series = []
    if valid_rows:
        series.append(("validation loss", valid_rows, [k for k in valid_rows[0]
                                                       if k not in ("step", "epoch", "time")]))
    if metric_rows:
        series.append(("validation metrics", metric_rows, [k for k in metric_rows[0]
                                                           if k not in ("step",)]))
    if valid_rows and metric_rows and "teacher" in valid_rows[0]:
        # paper 000 Fig. 1: the teacher's own estimate against the independent metric, so a
        # rising teacher over a falling DNSMOS (the fooling effect) is plain to see
        merged = {r["step"]: {"step": r["step"], "teacher (own estimate)": r["teacher"]}
                  for r in valid_rows}
        for r in metric_rows:
            merged.setdefault(r["step"], {"step": r["step"]}).update(
                {k: r[k] for k in ("dnsmos_p808", "dnsmos_ovrl", "dnsmos_sig", "dnsmos_bak")
                 if k in r})
        rows = sorted(merged.values(), key=lambda r: int(float(r["step"])))
        keys = sorted({k for r in rows for k in r if k != "step"})
        series.append(("teacher vs independent metric", rows, keys))
        teacher_key = "teacher (own estimate)"
    if not series:
        return None
    fig, axes = plt.subplots(1, len(series), figsize=(6 * len(series), 4), squeeze=False)
    for ax, (title, rows, keys) in zip(axes[0], series):
        steps = [int(float(r["step"])) for r in rows]
        for k in keys:
            vals = [float(r[k]) if r.get(k) not in (None, "") else float("nan") for r in rows]
            ax.plot(steps, vals, marker="o", label=k, linestyle="--" if k == teacher_key else "-")
        ax.set_xlabel("training step")
        ax.set_title(title)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out_png, dpi=100)
    plt.close(fig)
    return out_png
