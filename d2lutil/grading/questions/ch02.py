"""Chapter 2, weight decay: L2, L1 and elastic-net penalties, an SGD step with weight decay, parameter groups."""
from __future__ import annotations

import torch
from torch import nn

from ..registry import CheckFailed, expect_close, expect_shape, question


def reference_l2_penalty(params: list[torch.Tensor]) -> torch.Tensor:
    """Half the sum of squares of all parameters: sum_i ||w_i||^2 / 2."""
    return sum((w ** 2).sum() for w in params) / 2


def reference_l1_penalty(params: list[torch.Tensor]) -> torch.Tensor:
    """The sum of absolute values of all parameters: sum_i ||w_i||_1."""
    return sum(w.abs().sum() for w in params)


def reference_elastic_net_penalty(params: list[torch.Tensor], l1_ratio: float) -> torch.Tensor:
    """l1_ratio times the L1 penalty plus (1 - l1_ratio) times the L2 penalty."""
    return l1_ratio * reference_l1_penalty(params) + (1 - l1_ratio) * reference_l2_penalty(params)


def reference_sgd_step(params: list[torch.Tensor], grads: list[torch.Tensor], lr: float,
                       weight_decay: float) -> list[torch.Tensor]:
    """One step of SGD with weight decay: w - lr * (grad + weight_decay * w), for each parameter."""
    return [w - lr * (g + weight_decay * w) for w, g in zip(params, grads)]


def random_params(gen: torch.Generator) -> list[torch.Tensor]:
    """Two to four tensors of random shapes (1 to 3 dimensions), with negative and positive values."""
    count = int(torch.randint(2, 5, (), generator=gen))
    shapes = [tuple(torch.randint(1, 6, (int(torch.randint(1, 4, (), generator=gen)),), generator=gen).tolist())
              for _ in range(count)]
    return [torch.randn(shape, generator=gen) for shape in shapes]


def describe(params: list[torch.Tensor]) -> str:
    """The shapes of a list of parameters, for failure messages."""
    return f"parameters of shapes {[tuple(w.shape) for w in params]}"


def check_penalty(penalty_fn, reference, gen: torch.Generator, name: str, *extra: float) -> None:
    """Compare a penalty function with its reference on random parameters: a 0-dimensional tensor of the right value."""
    params = random_params(gen)
    what = f"{name} of {describe(params)}" + (f" with l1_ratio={extra[0]:.3f}" if extra else "")
    got, expected = penalty_fn(params, *extra), reference(params, *extra)
    expect_shape(got, (), what)
    expect_close(got, expected, what)


@question("02.l2_penalty", "l2_penalty", points=1)
def check_l2_penalty(l2_penalty, gen: torch.Generator) -> None:
    """l2_penalty(params) is half the sum of squares of all parameters, as a tensor."""
    for _ in range(2):
        check_penalty(l2_penalty, reference_l2_penalty, gen, "the L2 penalty")


@question("02.l1_penalty", "l1_penalty", points=1)
def check_l1_penalty(l1_penalty, gen: torch.Generator) -> None:
    """l1_penalty(params) is the sum of absolute values of all parameters, as a tensor."""
    for _ in range(2):
        check_penalty(l1_penalty, reference_l1_penalty, gen, "the L1 penalty")


@question("02.elastic_net_penalty", "elastic_net_penalty", points=1)
def check_elastic_net_penalty(elastic_net_penalty, gen: torch.Generator) -> None:
    """elastic_net_penalty(params, l1_ratio) mixes L1 and L2, pure L1 at l1_ratio=1 and pure L2 at 0."""
    for l1_ratio in (0.0, 1.0, float(torch.rand((), generator=gen))):
        check_penalty(elastic_net_penalty, reference_elastic_net_penalty, gen, "the elastic-net penalty", l1_ratio)


def torch_sgd_step(params: list[torch.Tensor], grads: list[torch.Tensor], lr: float,
                   weight_decay: float) -> list[torch.Tensor]:
    """The parameters after one step of torch.optim.SGD(lr=lr, weight_decay=weight_decay) with these gradients."""
    copies = [nn.Parameter(w.clone()) for w in params]
    for w, g in zip(copies, grads):
        w.grad = g.clone()
    torch.optim.SGD(copies, lr=lr, weight_decay=weight_decay).step()
    return [w.detach() for w in copies]


@question("02.sgd_step", "sgd_step", points=2)
def check_sgd_step(sgd_step, gen: torch.Generator) -> None:
    """sgd_step(params, grads, lr, weight_decay) returns the parameters torch.optim.SGD(weight_decay=...) gives."""
    for weight_decay in (0.0, float(torch.rand((), generator=gen)) * 0.1 + 1e-3, 0.5):
        params, lr = random_params(gen), float(torch.rand((), generator=gen)) * 0.5 + 0.01
        grads = [torch.randn(w.shape, generator=gen) for w in params]
        case = f"for {describe(params)}, lr={lr:.3f} and weight_decay={weight_decay:.4f}"
        got = sgd_step([w.clone() for w in params], [g.clone() for g in grads], lr, weight_decay)
        if not isinstance(got, (list, tuple)) or len(got) != len(params):
            raise CheckFailed(f"sgd_step should return a list of {len(params)} updated tensors {case}, got {got!r:.80}")
        expected = torch_sgd_step(params, grads, lr, weight_decay)
        for index, (new, want) in enumerate(zip(got, expected)):
            expect_shape(new, tuple(want.shape), f"updated parameter {index} {case}")
            expect_close(new, want, f"updated parameter {index} {case} (compared with torch.optim.SGD)")


def random_net(gen: torch.Generator) -> nn.Module:
    """A small network with linear, convolution and normalization layers whose parameters all differ."""
    channels, hidden = int(torch.randint(2, 5, (), generator=gen)), int(torch.randint(3, 9, (), generator=gen))
    net = nn.Sequential(nn.Conv2d(1, channels, 3), nn.BatchNorm2d(channels), nn.ReLU(), nn.Flatten(),
                        nn.Linear(channels * 4, hidden), nn.LayerNorm(hidden), nn.ReLU(), nn.Linear(hidden, 3))
    with torch.no_grad():
        for w in net.parameters():
            w.copy_(torch.randn(w.shape, generator=gen))
    return net


def find_parameter(tensor: torch.Tensor, named: dict[str, torch.Tensor]) -> str | None:
    """The name of the network parameter equal to `tensor` (same shape and values), or None."""
    return next((name for name, w in named.items() if isinstance(tensor, torch.Tensor)
                 and w.shape == tensor.shape and torch.equal(w, tensor.detach())), None)


@question("02.param_groups", "param_groups", points=2)
def check_param_groups(param_groups, gen: torch.Generator) -> None:
    """param_groups(net, weight_decay) decays every weight matrix or kernel and no bias or normalization parameter."""
    net, weight_decay = random_net(gen), float(torch.rand((), generator=gen)) * 0.1 + 1e-3
    named = {name: w.detach() for name, w in net.named_parameters()}
    groups = param_groups(net, weight_decay)
    if not isinstance(groups, (list, tuple)) or not all(isinstance(g, dict) and "params" in g for g in groups):
        raise CheckFailed("param_groups should return a list of dicts like {'params': [...], 'weight_decay': ...}, "
                          "the form torch.optim optimizers accept")
    decay_of: dict[str, float] = {}
    for group in groups:
        for tensor in group["params"]:
            name = find_parameter(tensor, named)
            if name is None:
                raise CheckFailed("a group holds a tensor that is not one of the network's parameters")
            if name in decay_of:
                raise CheckFailed(f"the parameter {name!r} appears in more than one group or twice")
            decay_of[name] = float(group.get("weight_decay", 0.0))
    for name, w in named.items():
        expected = weight_decay if w.ndim > 1 else 0.0
        if name not in decay_of:
            raise CheckFailed(f"the parameter {name!r} of shape {tuple(w.shape)} is in no group; every parameter must be trained")
        if abs(decay_of[name] - expected) > 1e-12:
            kind = "a weight (matrix or kernel)" if w.ndim > 1 else "a bias or normalization parameter"
            raise CheckFailed(f"the parameter {name!r} is {kind}, so its weight_decay should be {expected:g}, "
                              f"got {decay_of[name]:g} (with weight_decay={weight_decay:g})")
