"""Writing a matplotlib figure as a PNG atomically (a killed run never leaves half a figure
under the real name), then freeing it."""
from sebench.utils.fileio import atomic_path


def save_figure(fig, out, dpi=120):
    import matplotlib.pyplot as plt
    with atomic_path(out) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi)
    plt.close(fig)
    return out
