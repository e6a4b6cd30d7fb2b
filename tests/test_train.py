"""The training loop: history, reproducibility, early stopping, stopping at a target, checkpoint resume."""
import pytest
import torch

import d2lutil


@pytest.fixture(scope="module")
def small(digits):
    """A small digits subset so each training run takes a fraction of a second."""
    return digits.subset(300, 200, seed=0)


def make(seed: int = 0, dropout: float = 0.3):
    """A fresh MLP (with dropout, so the global RNG matters) and an SGD-with-momentum optimizer."""
    torch.manual_seed(seed)
    net = d2lutil.make_model("mlp", (1, 8, 8), hidden=(32,), dropout=dropout)
    return net, torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)


def test_history_has_one_entry_per_epoch_and_learns(small, device):
    net, opt = make()
    history = d2lutil.fit(net, small, 8, optimizer=opt, batch_size=32, progress=False, device=device)
    assert len(history) == 8 and all(len(v) == 8 for v in history.as_dict().values())
    assert history.train_loss[-1] < history.train_loss[0] / 2 and history.test_acc[-1] > 0.8
    X_test, y_test = small.X_test.to(device), small.y_test.to(device)
    assert history.test_acc[-1] == pytest.approx(d2lutil.evaluate(net, X_test, y_test)[1])


def test_same_seed_same_numbers_different_seed_different_numbers(small, device):
    run = lambda seed: d2lutil.fit(*make(0)[:1], small, 3, batch_size=32, seed=seed, progress=False,  # noqa: E731
                                   device=device)
    torch.manual_seed(0)
    a = run(1).as_dict()
    torch.manual_seed(0)
    b = run(1).as_dict()
    torch.manual_seed(0)
    c = run(2).as_dict()
    assert a == b and a != c


def test_evaluate_counts_correct_predictions():
    net = torch.nn.Flatten()  # scores are the inputs themselves
    X = torch.tensor([[[[0.0, 1.0]]], [[[2.0, 0.0]]], [[[0.0, 3.0]]]])
    loss, acc = d2lutil.evaluate(net, X, torch.tensor([1, 1, 1]))
    assert acc == pytest.approx(2 / 3)
    assert loss == pytest.approx(float(torch.nn.functional.cross_entropy(X.flatten(1), torch.tensor([1, 1, 1]))))


def test_early_stopping_stops_and_restores_the_best_weights(small, device):
    net, opt = make()
    stopper = d2lutil.EarlyStopping(monitor="test_loss", patience=2, min_delta=0.0)
    opt = torch.optim.SGD(net.parameters(), lr=2.0, momentum=0.9)  # diverges after a few epochs
    history = d2lutil.fit(net, small, 40, optimizer=opt, batch_size=32, callbacks=[stopper], progress=False,
                          device=device)
    best = min(range(len(history)), key=lambda i: history.test_loss[i])
    assert stopper.best_epoch == best + 1 and stopper.stopped_epoch == len(history) < 40
    assert len(history) - stopper.best_epoch == 2
    X_test, y_test = small.X_test.to(device), small.y_test.to(device)
    assert d2lutil.evaluate(net, X_test, y_test)[0] == pytest.approx(history.test_loss[best], rel=1e-5)


def test_early_stopping_min_delta_counts_small_gains_as_no_gain():
    stopper = d2lutil.EarlyStopping(monitor="test_acc", patience=2, min_delta=0.05, restore_best=False)
    state = d2lutil.TrainState(torch.nn.Linear(1, 1), None, d2lutil.History(), torch.Generator())
    for epoch, acc in enumerate([0.50, 0.52, 0.54, 0.60], 1):
        state.history.append(train_loss=0, train_acc=0, test_loss=0, test_acc=acc)
        state.epoch = epoch
        stopper.on_epoch_end(state)
        if state.stop:
            break
    assert state.stop and stopper.stopped_epoch == 3 and stopper.best_value == pytest.approx(0.50)


def test_stop_at_accuracy(small, device):
    net, opt = make(dropout=0.0)
    history = d2lutil.fit(net, small, 300, optimizer=opt, batch_size=32,
                          callbacks=[d2lutil.StopAtAccuracy(1.0)], progress=False, device=device)
    assert history.train_acc[-1] == 1.0 and history.epochs_to_reach("train_acc", 1.0) == len(history) < 300


def test_interrupted_run_resumed_from_checkpoint_ends_with_the_same_history(small, tmp_path, interrupt_at, device):
    scheduler = lambda opt: torch.optim.lr_scheduler.ExponentialLR(opt, 0.9)  # noqa: E731
    net, opt = make()
    stopper = d2lutil.EarlyStopping(patience=50)
    full = d2lutil.fit(net, small, 7, optimizer=opt, scheduler=scheduler(opt), batch_size=32, seed=3,
                       callbacks=[stopper, d2lutil.Checkpoint(tmp_path / "full.pt")], progress=False, device=device)

    net, opt = make()
    with pytest.raises(KeyboardInterrupt):
        d2lutil.fit(net, small, 7, optimizer=opt, scheduler=scheduler(opt), batch_size=32, seed=3,
                    callbacks=[d2lutil.Checkpoint(tmp_path / "run.pt"), interrupt_at(4), d2lutil.EarlyStopping(patience=50)],
                    progress=False, device=device)
    torch.manual_seed(123)  # a new process would start with other RNG state: the checkpoint must restore it
    net, opt = make(seed=99)
    resume = d2lutil.Checkpoint(tmp_path / "run.pt")
    resumed_stopper = d2lutil.EarlyStopping(patience=50)
    resumed = d2lutil.fit(net, small, 7, optimizer=opt, scheduler=scheduler(opt), batch_size=32, seed=3,
                          callbacks=[resume, resumed_stopper], progress=False, device=device)
    assert resume.resumed_from == 3  # the interrupt came before epoch 4 was saved
    assert resumed.as_dict() == full.as_dict()
    assert resumed_stopper.best_epoch == stopper.best_epoch


def test_callback_hooks_run_around_each_step(small, device):
    calls = []

    class Spy(d2lutil.Callback):
        def on_before_step(self, state):
            calls.append(("before", all(p.grad is not None for p in state.net.parameters())))

        def on_batch_end(self, state):
            calls.append(("after", None))

    d2lutil.fit(make()[0], small, 1, batch_size=100, callbacks=[Spy()], progress=False, device=device)
    assert calls == [("before", True), ("after", None)] * 3


@pytest.mark.parametrize("kwargs, match", [({"num_epochs": 0}, "num_epochs=0"), ({"num_epochs": 2, "batch_size": -1}, "batch_size=-1")])
def test_bad_input(small, kwargs, match):
    with pytest.raises(ValueError, match=match):
        d2lutil.fit(make()[0], small, progress=False, **kwargs)


def test_bad_callback_arguments():
    with pytest.raises(ValueError, match="'train_loss', 'train_acc', 'test_loss', 'test_acc'"):
        d2lutil.EarlyStopping(monitor="val_f1")
    with pytest.raises(ValueError, match="patience=0"):
        d2lutil.EarlyStopping(patience=0)
