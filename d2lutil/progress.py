"""Progress display of a training run: one bar over its epochs, with the latest metrics and why it ended."""
from __future__ import annotations

from tqdm.auto import tqdm


class EpochProgress:
    """A bar of `total` epochs named `desc`; nothing is shown when `enabled` is False."""

    def __init__(self, total: int, desc: str, enabled: bool) -> None:
        self.bar = tqdm(total=total, desc=desc, disable=not enabled, leave=False)

    def update(self, **metrics: float) -> None:
        """Advance one epoch and show its metrics."""
        self.bar.update()
        self.bar.set_postfix({name: f"{value:.3f}" for name, value in metrics.items()})

    def close(self, reason: str) -> None:
        """Close the bar, saying why training ended."""
        self.bar.set_postfix_str(reason)
        self.bar.close()
