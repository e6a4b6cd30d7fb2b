"""The checks of chapters 1-4: right answers pass on several seeds, typical wrong answers fail with a reason."""
import math

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from d2lutil.grading import load_questions, run_check
from d2lutil.grading.questions import ch01, ch02, ch03, ch04


def standard_dropout(X, p, training):
    if not training:
        return (1 - p) * X
    return X * (torch.rand_like(X) >= p)


def inverted_dropout(X, p, training):
    if not training or p == 0:
        return X
    if p == 1:
        return torch.zeros_like(X)
    return X * (torch.rand_like(X) >= p) / (1 - p)


def mc_dropout_predict(net, X, num_samples):
    net.train()
    with torch.no_grad():
        probs = torch.stack([F.softmax(net(X), dim=1) for _ in range(num_samples)])
    return probs.mean(dim=0), probs.var(dim=0)


def param_groups(net, weight_decay):
    decay = [w for w in net.parameters() if w.ndim > 1]
    no_decay = [w for w in net.parameters() if w.ndim <= 1]
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


class EarlyStopper:
    def __init__(self, patience, min_delta=0.0):
        self.patience, self.min_delta = patience, min_delta
        self.best_loss, self.best_epoch, self.best_weights, self.bad, self.epoch = math.inf, 0, None, 0, 0

    def step(self, val_loss, weights):
        self.epoch += 1
        if val_loss < self.best_loss - self.min_delta:
            self.best_loss, self.best_epoch, self.bad = val_loss, self.epoch, 0
            self.best_weights = {k: w.clone() for k, w in weights.items()}
        else:
            self.bad += 1
        return self.bad >= self.patience


class StopperWithoutCopy(EarlyStopper):
    def step(self, val_loss, weights):
        stop = super().step(val_loss, weights)
        if self.best_epoch == self.epoch:
            self.best_weights = weights  # keeps a reference that later epochs overwrite
        return stop


class StopperIgnoringMinDelta(EarlyStopper):
    def __init__(self, patience, min_delta=0.0):
        super().__init__(patience, 0.0)


def gd_path(X, y, lr, num_steps):
    w, path = torch.zeros(X.shape[1], dtype=X.dtype), [torch.zeros(X.shape[1], dtype=X.dtype)]
    for _ in range(num_steps):
        w = w - lr * X.T @ (X @ w - y) / len(y)
        path.append(w)
    return torch.stack(path)


RIGHT = {
    "01.accuracy": ch01.reference_accuracy,
    "01.diagnose": ch01.reference_diagnose,
    "01.bias_variance": ch01.reference_bias_variance,
    "02.l2_penalty": lambda params: sum(w.pow(2).sum() for w in params) / 2,
    "02.l1_penalty": lambda params: sum(w.abs().sum() for w in params),
    "02.elastic_net_penalty": lambda params, r: sum(r * w.abs().sum() + (1 - r) * w.pow(2).sum() / 2 for w in params),
    "02.sgd_step": lambda params, grads, lr, wd: [w - lr * (g + wd * w) for w, g in zip(params, grads)],
    "02.param_groups": param_groups,
    "03.standard_dropout": standard_dropout,
    "03.inverted_dropout": inverted_dropout,
    "03.ensemble_size": lambda n: 2 ** n,
    "03.mc_dropout_predict": mc_dropout_predict,
    "04.EarlyStopper": EarlyStopper,
    "04.gd_path": gd_path,
}

WRONG = [
    ("01.accuracy", lambda scores, y: float((scores.argmin(dim=1) == y).float().mean()), "wrong value"),
    ("01.diagnose", lambda train, val, base=0.0: "high variance", "should be"),
    ("01.bias_variance", lambda p, y: (float(((p - y) ** 2).mean()), float(p.var(dim=0).mean())), "wrong value"),
    ("02.l2_penalty", lambda params: sum(w.pow(2).sum() for w in params), "wrong value"),
    ("02.l2_penalty", lambda params: sum(w.detach().pow(2).sum().item() for w in params) / 2, "torch.Tensor"),
    ("02.l1_penalty", lambda params: sum(w.sum() for w in params), "wrong value"),
    ("02.elastic_net_penalty", lambda params, r: sum(r * w.pow(2).sum() / 2 + (1 - r) * w.abs().sum() for w in params),
     "wrong value"),
    ("02.sgd_step", lambda params, grads, lr, wd: [w - lr * g - wd * w for w, g in zip(params, grads)], "torch.optim.SGD"),
    ("02.sgd_step", lambda params, grads, lr, wd: [w - lr * g for w, g in zip(params, grads)], "wrong value"),
    ("02.param_groups", lambda net, wd: [{"params": list(net.parameters()), "weight_decay": wd}], "bias or normalization"),
    ("02.param_groups", lambda net, wd: [{"params": [w for w in net.parameters() if w.ndim > 1], "weight_decay": wd}],
     "is in no group"),
    ("02.param_groups", lambda net, wd: list(net.parameters()), "list of dicts"),
    ("03.standard_dropout", inverted_dropout, "neither"),
    ("03.standard_dropout", lambda X, p, training: X * (torch.rand_like(X) >= p) if training else X, "1 - p"),
    ("03.inverted_dropout", standard_dropout, "neither"),
    ("03.inverted_dropout", lambda X, p, training: X * (torch.rand_like(X) >= p / 2) / (1 - p) if training else X,
     "fraction"),
    ("03.inverted_dropout", lambda X, p, training: X * (torch.arange(X.numel()).reshape(X.shape) % 2 == 1) * 2
     if training and p == 0.5 else inverted_dropout(X, p, training), "same values"),
    ("03.ensemble_size", lambda n: 2.0 ** n, "exact integer"),
    ("03.ensemble_size", lambda n: n * 2, "exact integer"),
    ("03.mc_dropout_predict", lambda net, X, T: (F.softmax(net.eval()(X), dim=1).detach(),
                                                 torch.zeros(len(X), net[-1].out_features)), "variance is zero"),
    ("03.mc_dropout_predict", lambda net, X, T: [m.sqrt() if i else m for i, m in enumerate(mc_dropout_predict(net, X, T))],
     "the variance"),
    ("04.EarlyStopper", StopperWithoutCopy, "best_weights"),
    ("04.EarlyStopper", StopperIgnoringMinDelta, "returned"),
    ("04.gd_path", lambda X, y, lr, n: gd_path(X, y, lr, n)[1:], "wrong shape"),
    ("04.gd_path", lambda X, y, lr, n: gd_path(X, y, lr / 2, n), "wrong value"),
]


def test_every_question_of_chapters_1_to_4_has_a_right_answer_here():
    assert {qid for qid in load_questions() if qid[:2] in {"01", "02", "03", "04"}} == set(RIGHT)


@pytest.mark.parametrize("qid", sorted(RIGHT))
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_right_answer_passes(qid, seed):
    verdict = run_check(load_questions()[qid], RIGHT[qid], seed=seed)
    assert verdict.passed, verdict.reason


@pytest.mark.parametrize("qid, answer, words", WRONG, ids=[f"{qid}-{i}" for i, (qid, _, _) in enumerate(WRONG)])
def test_a_wrong_answer_fails_and_says_why(qid, answer, words):
    verdict = run_check(load_questions()[qid], answer, seed=0)
    assert verdict.earned == 0 and words in verdict.reason, verdict.reason


def test_reference_early_stopper_counts_patience_and_min_delta():
    stopper, weights = ch04.ReferenceEarlyStopper(patience=2, min_delta=0.1), {"w": torch.zeros(1)}
    assert [stopper.step(loss, weights) for loss in (1.0, 0.95, 0.5, 0.45, 0.41)] == [False] * 4 + [True]
    assert (stopper.best_loss, stopper.best_epoch) == (0.5, 3)


def test_reference_gd_path_reaches_least_squares():
    X, y = torch.randn(20, 3, dtype=torch.float64), torch.randn(20, dtype=torch.float64)
    path = ch04.reference_gd_path(X, y, lr=0.5, num_steps=500)
    assert torch.equal(path[0], torch.zeros(3))
    assert torch.allclose(path[-1], torch.linalg.lstsq(X, y.unsqueeze(1)).solution.squeeze(1), atol=1e-8)


def test_reference_penalties_and_sgd_step_on_a_small_case():
    w = [torch.tensor([3.0, -4.0])]
    assert float(ch02.reference_l2_penalty(w)) == 12.5 and float(ch02.reference_l1_penalty(w)) == 7.0
    assert float(ch02.reference_elastic_net_penalty(w, 0.5)) == 9.75
    (new,) = ch02.reference_sgd_step(w, [torch.tensor([1.0, 1.0])], lr=0.1, weight_decay=0.5)
    assert torch.allclose(new, torch.tensor([2.75, -3.9]))


def test_reference_mc_dropout_without_dropout_is_one_softmax_pass():
    net = nn.Sequential(nn.Linear(3, 4), nn.Dropout(0.0), nn.Linear(4, 2))
    X = torch.randn(5, 3)
    mean, variance = ch03.reference_mc_dropout(net, X, 4)
    assert torch.allclose(mean, F.softmax(net(X), dim=1)) and torch.all(variance.abs() < 1e-12)
    assert not net.training
