"""The training loop: minibatch epochs from a seed, evaluation, and `fit`, which runs them with callbacks and checkpoints."""
from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path

import torch
from torch import nn

from .callbacks import Callback, History, TrainState
from .checkpoints import Checkpoint, checkpoint_file, run_fingerprint
from .data import Dataset, iterate_batches
from .environment import choose_device
from .precision import Precision
from .progress import EpochProgress
from .validate import check_positive, check_positive_int, check_seed

Augment = Callable[[torch.Tensor, torch.Tensor, torch.Generator], tuple[torch.Tensor, torch.Tensor]]
FULL_PRECISION = Precision()


@torch.no_grad()
def evaluate(net: nn.Module, X: torch.Tensor, y: torch.Tensor, batch_size: int = 1024,
             loss_fn: Callable | None = None, precision: Precision = FULL_PRECISION) -> tuple[float, float]:
    """Mean loss and accuracy of `net` on (X, y), in eval mode, batch by batch (under `precision`'s autocast)."""
    loss_fn = loss_fn or nn.functional.cross_entropy
    was_training = net.training
    net.eval()
    total_loss, correct = 0.0, 0
    with precision.autocast():
        for Xb, yb in iterate_batches(X, y, batch_size, shuffle=False):
            scores = net(Xb)
            total_loss += float(loss_fn(scores, yb)) * len(yb)
            correct += int((scores.argmax(dim=1) == yb).sum())
    net.train(was_training)
    return total_loss / len(y), correct / len(y)


def train_epoch(net: nn.Module, X: torch.Tensor, y: torch.Tensor, optimizer: torch.optim.Optimizer,
                loss_fn: Callable, batch_size: int, generator: torch.Generator,
                augment: Augment | None = None, before_step: Callable[[], None] | None = None,
                after_step: Callable[[], None] | None = None, precision: Precision = FULL_PRECISION) -> None:
    """One pass of minibatch gradient steps over (X, y) in an order drawn from `generator`.

    Forward passes run under `precision`'s autocast; its float16 scaler (kept across epochs by `fit`)
    scales the loss and unscales gradients before `before_step` sees them.
    """
    net.train()
    for Xb, yb in iterate_batches(X, y, batch_size, shuffle=True, generator=generator):
        if augment is not None:
            Xb, yb = augment(Xb, yb, generator)
        with precision.autocast():
            loss = loss_fn(net(Xb), yb)
        optimizer.zero_grad(set_to_none=True)
        precision.backward(loss, optimizer)
        if before_step is not None:
            before_step()
        precision.step(optimizer)
        if after_step is not None:
            after_step()


def training_splits_on(data: Dataset, device: torch.device) -> Dataset:
    """`data` with its training and validation tensors on `device`; the test split stays where it is, unread."""
    return replace(data, X_train=data.X_train.to(device), y_train=data.y_train.to(device),
                   X_val=data.X_val.to(device), y_val=data.y_val.to(device))


def to_channels_last(net: nn.Module, data: Dataset) -> tuple[nn.Module, Dataset]:
    """The model and the training and validation images in channels_last order, which GPU convolutions run fastest in."""
    if data.X_train.ndim != 4:
        return net, data
    fmt = torch.channels_last
    return net.to(memory_format=fmt), replace(data, X_train=data.X_train.contiguous(memory_format=fmt),
                                              X_val=data.X_val.contiguous(memory_format=fmt))


@contextlib.contextmanager
def seeded_rng(seed: int, device: torch.device) -> Iterator[None]:
    """Inside the block the global RNG of the CPU and of `device` starts from `seed`; outside it is left as it was."""
    accelerator = device.type != "cpu"
    with torch.random.fork_rng(devices=[device] if accelerator else [], device_type=device.type if accelerator else None):
        torch.default_generator.manual_seed(seed)
        if device.type == "cuda":
            with torch.cuda.device(device):  # seeds this GPU, not just the current one
                torch.cuda.manual_seed(seed)
        elif accelerator:
            torch.get_device_module(device.type).manual_seed(seed)
        yield


def check_callbacks(callbacks: Sequence[Callback]) -> list[Callback]:
    """`callbacks` as a list, if every one is a `Callback`, else a ValueError."""
    wrong = [c for c in callbacks if not isinstance(c, Callback)] if isinstance(callbacks, Sequence) else [callbacks]
    if wrong:
        raise ValueError(f"callbacks={callbacks!r} is not allowed; give a list of d2lutil.Callback objects "
                         f"(not {type(wrong[0]).__name__})")
    return list(callbacks)


def run_epoch(model: nn.Module, data: Dataset, state: TrainState, loss_fn: Callable, batch_size: int,
              augment: Augment | None, callbacks: Sequence[Callback]) -> None:
    """Train one epoch, step the scheduler, and append the training and validation metrics to the history."""
    before_step = lambda: [callback.on_before_step(state) for callback in callbacks]  # noqa: E731
    after_step = lambda: [callback.on_batch_end(state) for callback in callbacks]  # noqa: E731
    train_epoch(model, data.X_train, data.y_train, state.optimizer, loss_fn, batch_size, state.generator, augment,
                before_step if callbacks else None, after_step if callbacks else None, state.precision)
    if state.scheduler is not None:
        state.scheduler.step()
    state.epoch += 1
    train_loss, train_acc = evaluate(model, data.X_train, data.y_train, precision=state.precision)
    val_loss, val_acc = evaluate(model, data.X_val, data.y_val, precision=state.precision)
    state.history.append(train_loss=train_loss, train_acc=train_acc, val_loss=val_loss, val_acc=val_acc)


def fit(net: nn.Module, data: Dataset, num_epochs: int, lr: float = 0.1, batch_size: int = 128,
        optimizer: torch.optim.Optimizer | None = None, scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
        loss_fn: Callable | None = None, augment: Augment | None = None, callbacks: Sequence[Callback] = (),
        device: torch.device | str | None = None, seed: int = 0, progress: bool = True,
        desc: str = "training", amp: str | None = None, channels_last: bool = False,
        compile_model: bool = False, checkpoint_dir: str | Path | None = None, resume: bool = True) -> History:
    """Train `net` on `data` for up to `num_epochs` epochs and return the per-epoch history.

    The data is moved to the device once; batches are sliced there. `seed` alone decides the batch
    order and the dropout masks (the caller's global RNG is left as it was). Without an `optimizer`,
    plain SGD with `lr` is used. The history holds the loss and accuracy on the whole training and
    validation sets after each epoch; the test set is never touched (measure it once, at the end,
    with `evaluate(net, data.X_test, data.y_test)`).

    The fast path, all off by default: `amp` ('auto', 'bf16' or 'fp16') trains in mixed precision,
    `channels_last` stores images channels-last for convolutions, `compile_model` runs the model
    through `torch.compile`. With `checkpoint_dir` (a folder, or 'drive:SUBFOLDER' for Google Drive
    on Colab) every epoch is checkpointed there and a rerun of the same run resumes where it stopped;
    `resume=False` starts afresh and overwrites that run's checkpoint.
    """
    check_positive_int("num_epochs", num_epochs)
    check_positive_int("batch_size", batch_size)
    check_positive("lr", lr)
    check_seed("seed", seed)
    callbacks = check_callbacks(callbacks)
    device = choose_device(device if device is not None else next(net.parameters()).device)
    precision = Precision.resolve(amp, device)
    net.to(device)
    optimizer = optimizer or torch.optim.SGD(net.parameters(), lr=lr)
    checkpoint = None
    if checkpoint_dir is not None:
        fingerprint = run_fingerprint(net, data, optimizer, seed, batch_size, augment, precision.dtype)
        checkpoint = Checkpoint(checkpoint_file(checkpoint_dir, f"{desc}-{fingerprint}"), fingerprint)

    data = training_splits_on(data, device)
    if channels_last:
        net, data = to_channels_last(net, data)
    model = torch.compile(net) if compile_model else net
    loss_fn = loss_fn or nn.CrossEntropyLoss()
    with seeded_rng(seed, device):
        state = TrainState(net, optimizer, History(), torch.Generator().manual_seed(seed), scheduler,
                           device=device, precision=precision)
        resumed = checkpoint is not None and resume and checkpoint.restore(state, callbacks)
        for callback in callbacks:
            callback.on_train_begin(state)
        bar = EpochProgress(num_epochs - state.epoch, f"{desc} (resumed after epoch {state.epoch})" if resumed else desc,
                            progress)
        reason = "interrupted"
        try:
            while state.epoch < num_epochs and not state.stop:
                run_epoch(model, data, state, loss_fn, batch_size, augment, callbacks)
                bar.update(**{name: values[-1] for name, values in state.history.as_dict().items()})
                for callback in callbacks:
                    callback.on_epoch_end(state)
                if checkpoint is not None:
                    checkpoint.save(state, callbacks)
            reason = state.stop_reason or ("stopped by a callback" if state.stop else f"{num_epochs} epochs done")
        finally:
            bar.close(reason)
        for callback in callbacks:
            callback.on_train_end(state)
    return state.history
