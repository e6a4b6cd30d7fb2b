"""The training loop: per-epoch history, a progress bar, callbacks for stopping and resuming, and a fast GPU path."""
from __future__ import annotations

import contextlib
import hashlib
import math
import os
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import torch
from torch import nn

from .data import Dataset, iterate_batches
from .progress import EpochProgress
from .validate import check_choice, check_nonnegative, check_positive_int

Augment = Callable[[torch.Tensor, torch.Tensor, torch.Generator], tuple[torch.Tensor, torch.Tensor]]
METRICS = ("train_loss", "train_acc", "test_loss", "test_acc")
AMP_MODES = ("auto", "bf16", "fp16")
DRIVE_PREFIX = "drive:"


@dataclass
class History:
    """Per-epoch training and test loss and accuracy."""

    train_loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    test_loss: list[float] = field(default_factory=list)
    test_acc: list[float] = field(default_factory=list)

    def append(self, **values: float) -> None:
        """Add one epoch's values of every metric."""
        for name in METRICS:
            getattr(self, name).append(float(values[name]))

    def __len__(self) -> int:
        return len(self.train_loss)

    def as_dict(self) -> dict[str, list[float]]:
        """The history as a plain dict of lists, ready for JSON."""
        return asdict(self)

    def epochs_to_reach(self, metric: str, threshold: float) -> int | None:
        """The first epoch (1-based) whose `metric` is at least `threshold`, or None if never."""
        values = getattr(self, metric)
        return next((epoch for epoch, value in enumerate(values, 1) if value >= threshold), None)


@dataclass
class TrainState:
    """What callbacks see and may change: the model, optimizer, history, and whether to stop and why."""

    net: nn.Module
    optimizer: torch.optim.Optimizer
    history: History
    generator: torch.Generator
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None
    epoch: int = 0
    stop: bool = False
    stop_reason: str = ""  # set by the callback that stops, e.g. "stopped early: 100% train_acc at epoch 12"
    scaler: torch.amp.GradScaler | None = None


class Callback:
    """Hooks called by `fit`; subclasses override the ones they need."""

    def on_train_begin(self, state: TrainState) -> None:
        """Called once before the first epoch."""

    def on_before_step(self, state: TrainState) -> None:
        """Called after each backward pass, before the optimizer step (e.g. to clip gradients)."""

    def on_batch_end(self, state: TrainState) -> None:
        """Called after each optimizer step (e.g. to apply a max-norm constraint)."""

    def on_epoch_end(self, state: TrainState) -> None:
        """Called after each epoch, once the history holds that epoch."""

    def on_train_end(self, state: TrainState) -> None:
        """Called once after the last epoch."""

    def state_dict(self) -> dict:
        """What a checkpoint must save of this callback."""
        return {}

    def load_state_dict(self, state: dict) -> None:
        """Restore what `state_dict` returned."""


class EarlyStopping(Callback):
    """Stop when `monitor` has not improved by `min_delta` for `patience` epochs; restore the best weights."""

    def __init__(self, monitor: str = "test_loss", patience: int = 5, min_delta: float = 0.0,
                 restore_best: bool = True) -> None:
        if monitor not in METRICS:
            raise ValueError(f"monitor={monitor!r} is not allowed; choose one of {', '.join(map(repr, METRICS))}")
        self.monitor, self.patience = monitor, check_positive_int("patience", patience)
        self.min_delta, self.restore_best = check_nonnegative("min_delta", min_delta), restore_best
        self.sign = -1.0 if monitor.endswith("loss") else 1.0
        self.best, self.best_epoch, self.wait, self.best_weights = -math.inf, 0, 0, None
        self.stopped_epoch: int | None = None

    def on_epoch_end(self, state: TrainState) -> None:
        """Track the best value so far and stop once patience runs out."""
        score = self.sign * getattr(state.history, self.monitor)[-1]
        if score > self.best + self.min_delta:
            self.best, self.best_epoch, self.wait = score, state.epoch, 0
            self.best_weights = {k: v.detach().clone() for k, v in state.net.state_dict().items()}
        else:
            self.wait += 1
            if self.wait >= self.patience:
                state.stop, self.stopped_epoch = True, state.epoch
                state.stop_reason = (f"stopped early: {self.monitor} did not improve for {self.patience} epochs "
                                     f"(best {self.best_value:.4g} at epoch {self.best_epoch})")

    def on_train_end(self, state: TrainState) -> None:
        """Load the best weights back into the model if asked."""
        if self.restore_best and self.best_weights is not None:
            state.net.load_state_dict(self.best_weights)

    @property
    def best_value(self) -> float:
        """The best value of the monitored metric."""
        return self.sign * self.best

    def state_dict(self) -> dict:
        """Best score, its epoch and weights, and the patience counter."""
        return {"best": self.best, "best_epoch": self.best_epoch, "wait": self.wait,
                "best_weights": self.best_weights, "stopped_epoch": self.stopped_epoch}

    def load_state_dict(self, state: dict) -> None:
        """Restore the tracking state saved in a checkpoint."""
        for key, value in state.items():
            setattr(self, key, value)


class StopAtAccuracy(Callback):
    """Stop once `monitor` reaches `threshold` (e.g. 100% training accuracy) for `times` epochs in a row."""

    def __init__(self, threshold: float = 1.0, monitor: str = "train_acc", times: int = 1) -> None:
        self.threshold, self.monitor, self.times, self.streak = threshold, monitor, times, 0

    def on_epoch_end(self, state: TrainState) -> None:
        """Stop when the metric has stayed at or above the threshold long enough."""
        self.streak = self.streak + 1 if getattr(state.history, self.monitor)[-1] >= self.threshold else 0
        if self.streak >= self.times and not state.stop:
            state.stop = True
            state.stop_reason = f"stopped early: {self.threshold:.0%} {self.monitor} at epoch {state.epoch}"


class Checkpoint(Callback):
    """Save everything needed to resume after each `every` epochs; resume from `path` if it exists."""

    def __init__(self, path: str | Path, every: int = 1, resume: bool = True) -> None:
        self.path, self.every, self.resume = Path(path), check_positive_int("every", every), resume
        self.callbacks: Sequence[Callback] = ()
        self.resumed_from: int | None = None

    def on_train_begin(self, state: TrainState) -> None:
        """Load model, optimizer, scheduler, history, RNG and callback state from an existing checkpoint."""
        if not (self.resume and self.path.exists()):
            return
        saved = torch.load(self.path, map_location="cpu", weights_only=False)
        state.net.load_state_dict(saved["net"])
        state.optimizer.load_state_dict(saved["optimizer"])
        if state.scheduler is not None and saved["scheduler"] is not None:
            state.scheduler.load_state_dict(saved["scheduler"])
        state.history = History(**saved["history"])
        state.epoch = self.resumed_from = saved["epoch"]
        state.stop, state.stop_reason = saved["stop"], saved.get("stop_reason", "")
        state.generator.set_state(saved["generator"])
        if state.scaler is not None and saved.get("scaler") is not None:
            state.scaler.load_state_dict(saved["scaler"])
        torch.set_rng_state(saved["torch_rng"])
        if torch.cuda.is_available() and saved["cuda_rng"] is not None:
            torch.cuda.set_rng_state_all(saved["cuda_rng"])
        for callback, callback_state in zip(self.callbacks, saved["callbacks"]):
            callback.load_state_dict(callback_state)

    def on_epoch_end(self, state: TrainState) -> None:
        """Write the checkpoint atomically (a crash mid-write leaves the previous one intact)."""
        if state.epoch % self.every:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        torch.save({
            "net": state.net.state_dict(), "optimizer": state.optimizer.state_dict(),
            "scheduler": state.scheduler.state_dict() if state.scheduler is not None else None,
            "history": state.history.as_dict(), "epoch": state.epoch, "stop": state.stop,
            "stop_reason": state.stop_reason,
            "generator": state.generator.get_state(), "torch_rng": torch.get_rng_state(),
            "scaler": state.scaler.state_dict() if state.scaler is not None else None,
            "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
            "callbacks": [callback.state_dict() for callback in self.callbacks],
        }, tmp)
        os.replace(tmp, self.path)


def amp_dtype(amp: str | None, device: torch.device | str) -> torch.dtype | None:
    """The autocast dtype of a mixed-precision mode on `device` ('auto': bfloat16 where supported, else float16)."""
    if amp is None:
        return None
    check_choice("amp", amp, AMP_MODES)
    device = torch.device(device)
    bf16_ok = device.type == "cpu" or (device.type == "cuda" and torch.cuda.is_bf16_supported())
    if amp == "bf16" and not bf16_ok:
        raise ValueError(f"amp='bf16' is not supported on {device}; use amp='auto' or 'fp16'")
    return torch.bfloat16 if amp == "bf16" or (amp == "auto" and bf16_ok) else torch.float16


def autocast(device: torch.device, dtype: torch.dtype | None) -> contextlib.AbstractContextManager:
    """Autocast to `dtype` on `device`; a no-op when `dtype` is None (full precision)."""
    return torch.autocast(device.type, dtype=dtype) if dtype is not None else contextlib.nullcontext()


def make_scaler(device: torch.device, dtype: torch.dtype | None) -> torch.amp.GradScaler | None:
    """A gradient scaler for float16 training (bfloat16 and full precision need none)."""
    return torch.amp.GradScaler(device.type) if dtype == torch.float16 else None


def resolve_checkpoint_dir(folder: str | Path) -> Path:
    """The checkpoint folder; 'drive:SUBFOLDER' mounts Google Drive on Colab and points inside it."""
    text = str(folder)
    if not text:
        raise ValueError("checkpoint_dir='' is not allowed; give a folder, or 'drive:SUBFOLDER' on Colab")
    if not text.startswith(DRIVE_PREFIX):
        return Path(text)
    if "google.colab" not in sys.modules:
        raise ValueError(f"checkpoint_dir={text!r} needs Google Colab (Google Drive is mounted there); "
                         "outside Colab give a local folder such as 'checkpoints'")
    from google.colab import drive

    drive.mount("/content/drive")
    return Path("/content/drive/MyDrive") / text[len(DRIVE_PREFIX):].strip("/")


def _tensor_bytes(tensor: torch.Tensor) -> bytes:
    """The raw bytes of a tensor of any dtype, on the CPU."""
    return tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()


def run_fingerprint(net: nn.Module, data: Dataset, optimizer: torch.optim.Optimizer, seed: int, batch_size: int,
                    augment: Augment | None = None, amp: str | None = None) -> str:
    """A short hash of what determines a run (initial weights, data, optimizer, seed...), naming its checkpoint."""
    digest = hashlib.sha256(repr((
        repr(net), data.name, tuple(data.X_train.shape), tuple(data.X_test.shape), seed, batch_size, amp,
        type(optimizer).__name__, [{k: v for k, v in group.items() if k != "params"} for group in optimizer.param_groups],
    )).encode())
    probe = (data.X_train[:64], data.y_train[:64])
    if augment is not None:
        probe = augment(probe[0].clone(), probe[1].clone(), torch.Generator().manual_seed(0))
    for tensor in (*net.state_dict().values(), data.y_train, *probe):
        digest.update(_tensor_bytes(tensor))
    return digest.hexdigest()[:16]


def checkpoint_path(folder: str | Path, desc: str, fingerprint: str) -> Path:
    """folder/<desc>-<fingerprint>.pt: one file per distinct run, so a rerun resumes its own run only."""
    slug = re.sub(r"[^A-Za-z0-9.+-]+", "-", desc).strip("-") or "run"
    return resolve_checkpoint_dir(folder) / f"{slug}-{fingerprint}.pt"


@torch.no_grad()
def evaluate(net: nn.Module, X: torch.Tensor, y: torch.Tensor, batch_size: int = 1024,
             loss_fn: Callable | None = None, amp: str | None = None) -> tuple[float, float]:
    """Mean loss and accuracy of `net` on (X, y), in eval mode, batch by batch (autocast when `amp` is set)."""
    loss_fn = loss_fn or nn.functional.cross_entropy
    precision = autocast(X.device, amp_dtype(amp, X.device))
    was_training = net.training
    net.eval()
    total_loss, correct = 0.0, 0
    with precision:
        for Xb, yb in iterate_batches(X, y, batch_size, shuffle=False):
            scores = net(Xb)
            total_loss += float(loss_fn(scores, yb)) * len(yb)
            correct += int((scores.argmax(dim=1) == yb).sum())
    net.train(was_training)
    return total_loss / len(y), correct / len(y)


def train_epoch(net: nn.Module, X: torch.Tensor, y: torch.Tensor, optimizer: torch.optim.Optimizer,
                loss_fn: Callable, batch_size: int, generator: torch.Generator,
                augment: Augment | None = None, before_step: Callable[[], None] | None = None,
                after_step: Callable[[], None] | None = None, amp: str | None = None,
                scaler: torch.amp.GradScaler | None = None) -> None:
    """One pass of minibatch gradient steps over (X, y) in a fresh random order.

    With `amp`, forward passes run under autocast; float16 scales the loss with `scaler` (a new one
    if None; `fit` keeps one across epochs) and unscales gradients before `before_step` sees them.
    """
    dtype = amp_dtype(amp, X.device)
    scaler = scaler if scaler is not None else make_scaler(X.device, dtype)
    precision = autocast(X.device, dtype)
    net.train()
    for Xb, yb in iterate_batches(X, y, batch_size, shuffle=True, generator=generator):
        if augment is not None:
            Xb, yb = augment(Xb, yb, generator)
        with precision:
            loss = loss_fn(net(Xb), yb)
        optimizer.zero_grad(set_to_none=True)
        if scaler is None:
            loss.backward()
        else:
            scaler.scale(loss).backward()
            scaler.unscale_(optimizer)
        if before_step is not None:
            before_step()
        if scaler is None:
            optimizer.step()
        else:
            scaler.step(optimizer)
            scaler.update()
        if after_step is not None:
            after_step()


def order_callbacks(callbacks: Sequence[Callback]) -> list[Callback]:
    """Put checkpoints last, so they save the other callbacks' state after each epoch."""
    others = [c for c in callbacks if not isinstance(c, Checkpoint)]
    checkpoints = [c for c in callbacks if isinstance(c, Checkpoint)]
    for checkpoint in checkpoints:
        checkpoint.callbacks = others
    return others + checkpoints


def to_channels_last(net: nn.Module, data: Dataset) -> tuple[nn.Module, Dataset]:
    """The model and image tensors in channels_last memory order, which GPU convolutions run fastest in."""
    if data.X_train.ndim != 4:
        return net, data
    fmt = torch.channels_last
    return net.to(memory_format=fmt), replace(data, X_train=data.X_train.contiguous(memory_format=fmt),
                                              X_test=data.X_test.contiguous(memory_format=fmt))


def fit(net: nn.Module, data: Dataset, num_epochs: int, lr: float = 0.1, batch_size: int = 128,
        optimizer: torch.optim.Optimizer | None = None, scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
        loss_fn: Callable | None = None, augment: Augment | None = None, callbacks: Sequence[Callback] = (),
        device: torch.device | str | None = None, seed: int = 0, progress: bool = True,
        desc: str = "training", amp: str | None = None, channels_last: bool = False,
        compile_model: bool = False, checkpoint_dir: str | Path | None = None) -> History:
    """Train `net` on `data` for up to `num_epochs` epochs and return the per-epoch history.

    The data is moved to the device once; batches are sliced there in an order drawn from a
    generator seeded with `seed`. Without an `optimizer`, plain SGD with `lr` is used. The
    history holds the loss and accuracy on the whole training and test sets after each epoch.

    The fast path, all off by default: `amp` ('auto', 'bf16' or 'fp16') trains in mixed precision,
    `channels_last` stores images channels-last for convolutions, `compile_model` runs the model
    through `torch.compile`. With `checkpoint_dir` (a folder, or 'drive:SUBFOLDER' for Google Drive
    on Colab) every epoch is checkpointed there and a rerun of the same run resumes where it stopped.
    """
    check_positive_int("num_epochs", num_epochs)
    check_positive_int("batch_size", batch_size)
    device = torch.device(device) if device is not None else next(net.parameters()).device
    dtype = amp_dtype(amp, device)
    net.to(device)
    data = data.to(device)
    if channels_last:
        net, data = to_channels_last(net, data)
    optimizer = optimizer or torch.optim.SGD(net.parameters(), lr=lr)
    loss_fn = loss_fn or nn.CrossEntropyLoss()
    state = TrainState(net, optimizer, History(), torch.Generator().manual_seed(seed), scheduler,
                       scaler=make_scaler(device, dtype))
    if checkpoint_dir is not None:
        fingerprint = run_fingerprint(net, data, optimizer, seed, batch_size, augment, amp)
        callbacks = [*callbacks, Checkpoint(checkpoint_path(checkpoint_dir, desc, fingerprint))]
    callbacks = order_callbacks(callbacks)
    model = torch.compile(net) if compile_model else net
    for callback in callbacks:
        callback.on_train_begin(state)
    before_step = lambda: [callback.on_before_step(state) for callback in callbacks]  # noqa: E731
    after_step = lambda: [callback.on_batch_end(state) for callback in callbacks]  # noqa: E731
    bar = EpochProgress(num_epochs, desc, enabled=progress, initial=min(state.epoch, num_epochs))
    while state.epoch < num_epochs and not state.stop:
        train_epoch(model, data.X_train, data.y_train, optimizer, loss_fn, batch_size, state.generator, augment,
                    before_step if callbacks else None, after_step if callbacks else None, amp, state.scaler)
        if scheduler is not None:
            scheduler.step()
        state.epoch += 1
        train_loss, train_acc = evaluate(model, data.X_train, data.y_train, amp=amp)
        test_loss, test_acc = evaluate(model, data.X_test, data.y_test, amp=amp)
        state.history.append(train_loss=train_loss, train_acc=train_acc, test_loss=test_loss, test_acc=test_acc)
        bar.update(train_acc=train_acc, test_acc=test_acc)
        for callback in callbacks:
            callback.on_epoch_end(state)
    bar.close(state.stop_reason or None)
    for callback in callbacks:
        callback.on_train_end(state)
    return state.history
