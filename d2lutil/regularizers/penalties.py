r"""Norm penalties and weight decay: L2, L1 and elastic net, the decay step from scratch, and what they do to weights.

A penalized objective is $L(\mathbf{w}) + \lambda\,\Omega(\mathbf{w})$. By convention here the L2
penalty is $\tfrac12\|\mathbf{w}\|_2^2$, so its gradient is $\lambda\mathbf{w}$ and SGD on the penalized
loss is exactly SGD with `weight_decay=lambda`: $\mathbf{w} \leftarrow (1-\eta\lambda)\mathbf{w} - \eta\nabla L$.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable

import torch
from torch import nn

from ..validate import check_choice, check_nonnegative, check_probability

PENALTIES = ("l2", "l1", "elastic_net")


def weights(net: nn.Module) -> list[nn.Parameter]:
    """The parameters that multiply inputs (matrices and kernels, ndim >= 2), not biases or norm scales."""
    return [p for p in net.parameters() if p.ndim >= 2]


def non_weights(net: nn.Module) -> list[nn.Parameter]:
    """The biases and normalization parameters (ndim < 2), which weight decay usually leaves alone."""
    return [p for p in net.parameters() if p.ndim < 2]


def l2_penalty(params: Iterable[torch.Tensor]) -> torch.Tensor:
    """Half the squared L2 norm of all tensors together: sum(w^2) / 2."""
    return sum((p.pow(2).sum() for p in params), torch.tensor(0.0)) / 2


def l1_penalty(params: Iterable[torch.Tensor]) -> torch.Tensor:
    """The L1 norm of all tensors together: sum(|w|)."""
    return sum((p.abs().sum() for p in params), torch.tensor(0.0))


def elastic_net_penalty(params: Iterable[torch.Tensor], l1_ratio: float = 0.5) -> torch.Tensor:
    """The elastic net: l1_ratio * L1 + (1 - l1_ratio) * L2 (l1_ratio=1 is the lasso, 0 is ridge)."""
    l1_ratio = check_probability("l1_ratio", l1_ratio)
    params = list(params)
    return l1_ratio * l1_penalty(params) + (1 - l1_ratio) * l2_penalty(params)


def penalty(kind: str, params: Iterable[torch.Tensor], l1_ratio: float = 0.5) -> torch.Tensor:
    """The penalty named `kind` (see PENALTIES) of the tensors `params`."""
    check_choice("penalty", kind, PENALTIES)
    if kind == "l2":
        return l2_penalty(params)
    if kind == "l1":
        return l1_penalty(params)
    return elastic_net_penalty(params, l1_ratio)


def penalized_loss(net: nn.Module, kind: str, lam: float, loss_fn: Callable | None = None,
                   l1_ratio: float = 0.5) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """A loss for `fit`: loss_fn(scores, y) + lam * penalty(kind) of `net`'s weights (biases are not penalized)."""
    check_choice("penalty", kind, PENALTIES)
    lam = check_nonnegative("lam", lam)
    loss_fn = loss_fn or nn.functional.cross_entropy

    def objective(scores: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The data loss of the scores plus the weighted penalty of the weights."""
        return loss_fn(scores, y) + lam * penalty(kind, weights(net), l1_ratio)

    return objective


@torch.no_grad()
def sgd_weight_decay_step(params: Iterable[nn.Parameter], lr: float, weight_decay: float) -> None:
    """One SGD step with weight decay, from scratch: w <- (1 - lr * weight_decay) * w - lr * grad."""
    weight_decay = check_nonnegative("weight_decay", weight_decay)
    for p in params:
        if p.grad is not None:
            p.mul_(1 - lr * weight_decay).sub_(lr * p.grad)


def decay_groups(net: nn.Module, weight_decay: float) -> list[dict]:
    """Optimizer parameter groups that decay the weights by `weight_decay` and the biases not at all."""
    weight_decay = check_nonnegative("weight_decay", weight_decay)
    return [{"params": weights(net), "weight_decay": weight_decay},
            {"params": non_weights(net), "weight_decay": 0.0}]


def weight_norm(net: nn.Module) -> float:
    """The L2 norm of all of `net`'s weights together (biases excluded)."""
    return float(torch.sqrt(2 * l2_penalty(p.detach().cpu() for p in weights(net))))


def sparsity(net: nn.Module, tol: float = 1e-3) -> float:
    """The fraction of `net`'s weights whose magnitude is below `tol` (biases excluded)."""
    tol = check_nonnegative("tol", tol)
    flat = torch.cat([p.detach().flatten().cpu() for p in weights(net)])
    return float((flat.abs() < tol).float().mean())
