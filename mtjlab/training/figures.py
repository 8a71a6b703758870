"""The learning-curve figure of a run (matplotlib, written without a screen)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from .records import atomic_write_bytes


def learning_curves(history: Sequence[dict[str, Any]], path: Path, method: str, baseline: str = "tanh") -> None:
    """Loss and validation accuracy per epoch for every fold: device network (solid) and
    software baseline (dashed; ``baseline`` names its activation); written atomically as PNG."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    folds = sorted({row["fold"] for row in history})
    for n, fold in enumerate(folds):
        rows = [r for r in history if r["fold"] == fold]
        epochs = [r["epoch"] for r in rows]
        colour = f"C{n % 10}"
        ax_loss.plot(epochs, [r["loss"] for r in rows], color=colour, label=f"fold {fold}")
        ax_loss.plot(epochs, [r["baseline_loss"] for r in rows], color=colour, ls="--", lw=0.8)
        ax_acc.plot(epochs, [100 * r["val_accuracy"] for r in rows], color=colour, label=f"fold {fold}")
        ax_acc.plot(epochs, [100 * r["baseline_val_accuracy"] for r in rows], color=colour, ls="--", lw=0.8)
    ax_loss.set(xlabel="epoch", ylabel="training loss (cross-entropy, nats)", title=f"{method}: loss")
    ax_acc.set(xlabel="epoch", ylabel="validation accuracy (%)",
               title=f"validation accuracy (dashed: software {baseline} baseline)")
    ax_loss.legend(fontsize="small")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    atomic_write_bytes(Path(path), buffer.getvalue())
