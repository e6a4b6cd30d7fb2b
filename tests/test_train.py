"""The training loop: history on validation, reproducibility from `seed`, early stopping, stopping at a target, resume."""
import dataclasses

import pytest
import torch

import d2lutil


@pytest.fixture(scope="module")
def small(digits):
    """A small digits subset so each training run takes a fraction of a second."""
    return digits.subset(300, 200, 200, seed=0)


def make(seed: int = 0, dropout: float = 0.3):
    """A fresh MLP with weights from `seed` (with dropout, so the masks fit draws matter) and SGD with momentum."""
    net = d2lutil.make_model("mlp", (1, 8, 8), hidden=(32,), dropout=dropout, seed=seed)
    return net, torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)


def test_history_has_one_entry_per_epoch_and_learns(small):
    net, opt = make()
    history = d2lutil.fit(net, small, 8, optimizer=opt, batch_size=32, progress=False)
    assert len(history) == 8 and all(len(v) == 8 for v in history.as_dict().values())
    assert list(history.as_dict()) == ["train_loss", "train_acc", "val_loss", "val_acc"]
    assert history.train_loss[-1] < history.train_loss[0] / 2 and history.val_acc[-1] > 0.8
    assert history.val_acc[-1] == pytest.approx(d2lutil.evaluate(net, small.X_val, small.y_val)[1])
    assert history.val_loss[-1] == pytest.approx(d2lutil.evaluate(net, small.X_val, small.y_val)[0])


class Untouchable(torch.Tensor):
    """A tensor that fails the test when anything reads or moves it."""

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        raise AssertionError(f"fit touched the test set ({func.__name__})")


def test_fit_never_touches_the_test_set(small, tmp_path):
    sealed = dataclasses.replace(small, X_test=small.X_test.as_subclass(Untouchable),
                                 y_test=small.y_test.as_subclass(Untouchable))
    history = d2lutil.fit(make()[0], sealed, 2, batch_size=32, progress=False, channels_last=True,
                          callbacks=[d2lutil.EarlyStopping()], checkpoint_dir=tmp_path)
    assert len(history) == 2 and history.val_acc[-1] > 0.5
    with pytest.raises(AssertionError, match="touched the test set"):
        sealed.X_test.to("cpu")  # the seal works


def test_same_seed_same_numbers_whatever_the_global_rng_and_the_global_rng_is_left_alone(small):
    """Dropout masks and batch order come from `seed` alone: no re-seeding before each run."""
    run = lambda seed: d2lutil.fit(make(0)[0], small, 3, batch_size=32, seed=seed, progress=False).as_dict()  # noqa: E731
    a = run(1)
    torch.rand(5)  # move the global RNG on: the next run must not notice
    b, c = run(1), run(2)
    assert a == b and a != c
    net = make(0)[0]
    before = torch.get_rng_state()
    d2lutil.fit(net, small, 1, batch_size=32, seed=1, progress=False)
    assert torch.equal(torch.get_rng_state(), before)


def test_the_seed_draws_the_dropout_masks(small):
    """Two runs with the same batch order but other dropout masks differ: the masks come from `seed` too."""
    net = make(0)[0]
    history = d2lutil.fit(net, small, 1, batch_size=32, seed=1, progress=False)
    without_dropout = d2lutil.fit(make(0, dropout=0.0)[0], small, 1, batch_size=32, seed=1, progress=False)
    assert history.as_dict() != without_dropout.as_dict()
    assert history.as_dict() == d2lutil.fit(make(0)[0], small, 1, batch_size=32, seed=1, progress=False).as_dict()


def test_evaluate_counts_correct_predictions():
    net = torch.nn.Flatten()  # scores are the inputs themselves
    X = torch.tensor([[[[0.0, 1.0]]], [[[2.0, 0.0]]], [[[0.0, 3.0]]]])
    loss, acc = d2lutil.evaluate(net, X, torch.tensor([1, 1, 1]))
    assert acc == pytest.approx(2 / 3)
    assert loss == pytest.approx(float(torch.nn.functional.cross_entropy(X.flatten(1), torch.tensor([1, 1, 1]))))


def test_early_stopping_stops_and_restores_the_best_weights(small):
    net, opt = make()
    stopper = d2lutil.EarlyStopping(patience=2, min_delta=0.0)
    assert stopper.monitor == "val_loss"
    opt = torch.optim.SGD(net.parameters(), lr=2.0, momentum=0.9)  # diverges after a few epochs
    history = d2lutil.fit(net, small, 40, optimizer=opt, batch_size=32, callbacks=[stopper], progress=False)
    best = min(range(len(history)), key=lambda i: history.val_loss[i])
    assert stopper.best_epoch == best + 1 and stopper.stopped_epoch == len(history) < 40
    assert len(history) - stopper.best_epoch == 2
    assert d2lutil.evaluate(net, small.X_val, small.y_val)[0] == pytest.approx(history.val_loss[best], rel=1e-5)


def test_early_stopping_min_delta_counts_small_gains_as_no_gain():
    stopper = d2lutil.EarlyStopping(monitor="val_acc", patience=2, min_delta=0.05, restore_best=False)
    state = d2lutil.TrainState(torch.nn.Linear(1, 1), None, d2lutil.History(), torch.Generator())
    for epoch, acc in enumerate([0.50, 0.52, 0.54, 0.60], 1):
        state.history.append(train_loss=0, train_acc=0, val_loss=0, val_acc=acc)
        state.epoch = epoch
        stopper.on_epoch_end(state)
        if state.stop:
            break
    assert state.stop and stopper.stopped_epoch == 3 and stopper.best_value == pytest.approx(0.50)


def test_stop_at_accuracy(small):
    net, opt = make(dropout=0.0)
    history = d2lutil.fit(net, small, 300, optimizer=opt, batch_size=32,
                          callbacks=[d2lutil.StopAtAccuracy(1.0)], progress=False)
    assert history.train_acc[-1] == 1.0 and history.epochs_to_reach("train_acc", 1.0) == len(history) < 300


class StartEpoch(d2lutil.Callback):
    """Records the epoch training starts from (after any checkpoint was restored)."""

    def on_train_begin(self, state: d2lutil.TrainState) -> None:
        self.epoch = state.epoch


def test_interrupted_run_resumed_from_checkpoint_ends_with_the_same_history(small, tmp_path, interrupt_at):
    def run(*callbacks, checkpoint_dir=None, model_seed=0):
        net, opt = make(model_seed)
        scheduler = torch.optim.lr_scheduler.ExponentialLR(opt, 0.9)
        net.load_state_dict(make(0)[0].state_dict())  # the same run: same initial weights
        return d2lutil.fit(net, small, 7, optimizer=opt, scheduler=scheduler, batch_size=32, seed=3,
                           callbacks=callbacks, checkpoint_dir=checkpoint_dir, progress=False)

    stopper = d2lutil.EarlyStopping(patience=50)
    full = run(stopper)
    with pytest.raises(KeyboardInterrupt):
        run(interrupt_at(4), d2lutil.EarlyStopping(patience=50), checkpoint_dir=tmp_path)
    torch.manual_seed(123)  # a new process would start with other RNG state: the checkpoint must restore it
    start, resumed_stopper = StartEpoch(), d2lutil.EarlyStopping(patience=50)
    resumed = run(start, resumed_stopper, checkpoint_dir=tmp_path, model_seed=99)
    assert start.epoch == 3  # the interrupt came before epoch 4 was saved
    assert resumed.as_dict() == full.as_dict()
    assert resumed_stopper.best_epoch == stopper.best_epoch


def test_callback_hooks_run_around_each_step(small):
    calls = []

    class Spy(d2lutil.Callback):
        def on_before_step(self, state):
            calls.append(("before", all(p.grad is not None for p in state.net.parameters())))

        def on_batch_end(self, state):
            calls.append(("after", None))

    d2lutil.fit(make()[0], small, 1, batch_size=100, callbacks=[Spy()], progress=False)
    assert calls == [("before", True), ("after", None)] * 3


@pytest.mark.parametrize("kwargs, match", [
    ({"num_epochs": 0}, "num_epochs=0 .*integer >= 1"),
    ({"batch_size": -1}, "batch_size=-1 .*integer >= 1"),
    ({"lr": float("nan")}, "lr=nan .*finite number > 0"),
    ({"lr": float("inf")}, "lr=inf .*finite number > 0"),
    ({"lr": -0.1}, "lr=-0.1 .*finite number > 0"),
    ({"seed": "abc"}, "seed='abc' .*integer in \\[0, 4294967295\\]"),
    ({"seed": -1}, "seed=-1 .*integer in"),
    ({"amp": "fp32"}, "amp='fp32' .*'auto', 'bf16', 'fp16'"),
    ({"device": "tpu"}, "device='tpu' .*'auto', 'cpu', 'cuda', 'mps'"),
    ({"checkpoint_dir": ""}, "checkpoint_dir=''"),
    ({"callbacks": d2lutil.EarlyStopping()}, "callbacks=.* list of d2lutil.Callback objects \\(not EarlyStopping\\)"),
    ({"callbacks": [print]}, "callbacks=.* list of d2lutil.Callback objects \\(not builtin_function_or_method\\)"),
])
def test_fit_refuses_bad_values_before_training(small, kwargs, match):
    net = make()[0]
    before = [p.clone() for p in net.parameters()]
    with pytest.raises(ValueError, match=match):
        d2lutil.fit(net, small, **{"num_epochs": 2, **kwargs}, progress=False)
    assert all(torch.equal(a, b) for a, b in zip(before, net.parameters()))


def test_fit_refuses_a_checkpoint_dir_that_is_a_file(small, tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    net = make()[0]
    before = [p.clone() for p in net.parameters()]
    with pytest.raises(ValueError, match="checkpoint_dir=.*notes.txt.* is a file; give a folder"):
        d2lutil.fit(net, small, 2, checkpoint_dir=tmp_path / "notes.txt", progress=False)
    assert all(torch.equal(a, b) for a, b in zip(before, net.parameters()))
    assert (tmp_path / "notes.txt").read_text() == "mine"


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the refusal on a machine without a GPU")
def test_fit_refuses_cuda_without_a_gpu(small):
    with pytest.raises(ValueError, match="device='cuda' was asked for but no CUDA GPU is visible; use device='auto' or 'cpu'"):
        d2lutil.fit(make()[0], small, 1, device="cuda", progress=False)


@pytest.mark.parametrize("make_callback, match", [
    (lambda: d2lutil.EarlyStopping(monitor="val_f1"), "monitor='val_f1' .*'train_loss', 'train_acc', 'val_loss', 'val_acc'"),
    (lambda: d2lutil.EarlyStopping(monitor="test_loss"), "monitor='test_loss' .*'val_loss'"),
    (lambda: d2lutil.EarlyStopping(patience=0), "patience=0 .*integer >= 1"),
    (lambda: d2lutil.EarlyStopping(min_delta=float("nan")), "min_delta=nan .*finite number >= 0"),
    (lambda: d2lutil.EarlyStopping(min_delta=-0.1), "min_delta=-0.1 .*finite number >= 0"),
    (lambda: d2lutil.StopAtAccuracy(2.0), "threshold=2.0 .*number in \\[0, 1\\]"),
    (lambda: d2lutil.StopAtAccuracy(float("nan")), "threshold=nan .*number in \\[0, 1\\]"),
    (lambda: d2lutil.StopAtAccuracy(monitor="acc"), "monitor='acc' .*'train_acc', 'val_acc'"),
    (lambda: d2lutil.StopAtAccuracy(monitor="train_loss"), "monitor='train_loss' .*'train_acc', 'val_acc'"),
    (lambda: d2lutil.StopAtAccuracy(times=0), "times=0 .*integer >= 1"),
])
def test_callbacks_refuse_bad_values_when_built(make_callback, match):
    with pytest.raises(ValueError, match=match):
        make_callback()


def test_history_refuses_an_unknown_metric():
    with pytest.raises(ValueError, match="metric='test_acc' .*'val_acc'"):
        d2lutil.History().epochs_to_reach("test_acc", 0.9)


def test_stopping_callbacks_say_why_on_the_progress_bar(small, monkeypatch):
    reasons = []
    monkeypatch.setattr(d2lutil.progress.EpochProgress, "close", lambda self, reason: reasons.append(reason))
    net, opt = make(dropout=0.0)
    d2lutil.fit(net, small, 300, optimizer=opt, batch_size=32, callbacks=[d2lutil.StopAtAccuracy(1.0)], progress=False)
    d2lutil.fit(make()[0], small, 2, batch_size=32, progress=False)
    assert reasons == ["train_acc reached 1", "2 epochs done"]
