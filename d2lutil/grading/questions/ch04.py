"""Chapter 4, early stopping: a stopper with patience, min_delta and restore-best; gradient descent as implicit L2."""
from __future__ import annotations

import math

import torch

from ..registry import CheckFailed, expect_close, expect_shape, question


class ReferenceEarlyStopper:
    """Stop once the validation loss has not dropped below best - min_delta for `patience` steps; keep the best weights."""

    def __init__(self, patience: int, min_delta: float = 0.0) -> None:
        self.patience, self.min_delta = patience, min_delta
        self.best_loss, self.best_epoch, self.best_weights, self.bad_epochs, self.epoch = math.inf, 0, None, 0, 0

    def step(self, val_loss: float, weights: dict[str, torch.Tensor]) -> bool:
        """Record one epoch's validation loss and weights; return True when training should stop."""
        self.epoch += 1
        if val_loss < self.best_loss - self.min_delta:
            self.best_loss, self.best_epoch, self.bad_epochs = val_loss, self.epoch, 0
            self.best_weights = {name: w.clone() for name, w in weights.items()}
        else:
            self.bad_epochs += 1
        return self.bad_epochs >= self.patience


def random_losses(gen: torch.Generator, length: int) -> list[float]:
    """A noisy, mostly falling validation-loss curve that flattens and then rises (overfitting)."""
    t = torch.arange(length, dtype=torch.float64)
    turn = float(torch.randint(length // 4, length // 2 + 1, (), generator=gen))
    curve = 2.0 * torch.exp(-t / (turn / 2)) + 0.02 * torch.relu(t - turn)
    noise = 0.05 * torch.rand(length, generator=gen, dtype=torch.float64)
    return (0.5 + curve + noise).tolist()


@question("04.EarlyStopper", "EarlyStopper", points=3)
def check_early_stopper(EarlyStopper, gen: torch.Generator) -> None:
    """EarlyStopper(patience, min_delta).step(val_loss, weights) stops like the reference and keeps the best weights."""
    settings = [(1, 0.0), (3, 0.0), (int(torch.randint(2, 6, (), generator=gen)), 0.05),
                (int(torch.randint(2, 6, (), generator=gen)), float(torch.rand((), generator=gen)) * 0.2)]
    for patience, min_delta in settings:
        losses = random_losses(gen, 40)
        stopper, reference = EarlyStopper(patience, min_delta), ReferenceEarlyStopper(patience, min_delta)
        case = f"EarlyStopper(patience={patience}, min_delta={min_delta:.3f}) on losses {[round(v, 3) for v in losses[:6]]}..."
        weights = {"w": torch.zeros(2, 3), "b": torch.zeros(3)}
        for epoch, loss in enumerate(losses, start=1):
            weights["w"].fill_(epoch), weights["b"].fill_(-epoch)  # one dict updated in place, like a state_dict
            got, expected = stopper.step(loss, weights), reference.step(loss, weights)
            if bool(got) != expected:
                raise CheckFailed(f"{case}: step() at epoch {epoch} (loss {loss:.4f}, best so far "
                                  f"{reference.best_loss:.4f}) returned {got!r}, expected {expected}")
            if expected:
                break
        expect_close(stopper.best_loss, reference.best_loss, f"best_loss after stopping, {case}")
        if stopper.best_epoch != reference.best_epoch:
            raise CheckFailed(f"{case}: best_epoch should be {reference.best_epoch} (counting from 1), got {stopper.best_epoch!r}")
        best = stopper.best_weights
        if not isinstance(best, dict) or set(best) != set(weights):
            raise CheckFailed(f"{case}: best_weights should be a dict with the keys {sorted(weights)}, got {best!r:.80}")
        for name, w in reference.best_weights.items():
            expect_close(best[name], w, f"best_weights[{name!r}] (the weights of epoch {reference.best_epoch}), {case}")


def reference_gd_path(X: torch.Tensor, y: torch.Tensor, lr: float, num_steps: int) -> torch.Tensor:
    """Weights of gradient descent on the loss ||Xw - y||^2 / (2n) from w = 0: a (num_steps + 1, d) tensor."""
    w, path = torch.zeros(X.shape[1], dtype=X.dtype), []
    for _ in range(num_steps + 1):
        path.append(w)
        w = w - lr * X.T @ (X @ w - y) / len(y)
    return torch.stack(path)


@question("04.gd_path", "gd_path", points=2)
def check_gd_path(gd_path, gen: torch.Generator) -> None:
    """gd_path(X, y, lr, num_steps) returns every iterate of gradient descent on least squares from w = 0."""
    for _ in range(2):
        n, d = (int(v) for v in torch.randint(3, 12, (2,), generator=gen))
        num_steps, lr = int(torch.randint(1, 30, (), generator=gen)), 0.05 + 0.2 * float(torch.rand((), generator=gen))
        X, y = torch.randn(n, d, generator=gen, dtype=torch.float64), torch.randn(n, generator=gen, dtype=torch.float64)
        case = f"gd_path on X of shape {(n, d)} with lr={lr:.3f} and num_steps={num_steps}"
        got = gd_path(X.clone(), y.clone(), lr, num_steps)
        expect_shape(got, (num_steps + 1, d), f"the result of {case} (one row per iterate, w_0 = 0 first)")
        expect_close(got, reference_gd_path(X, y, lr, num_steps), f"the iterates of {case}")
