"""Training speed and memory on a GPU: d2lutil's fast path against a DataLoader loop and a hand-written loop (a benchmark, not a test).

The data is made on the spot and needs no download: the paper's Gaussian-input variant of CIFAR-10,
50,000 training and 10,000 held-out images of 3x28x28 Gaussian noise with CIFAR-10's per-channel
mean and standard deviation, standardized per channel as every dataset of the course is, with labels
drawn uniformly from 10 classes. For each of the paper's four architectures (small Inception, small
AlexNet, MLP 1x512, MLP 3x512) it measures the time per epoch (a training pass, then the loss and
accuracy on the training and held-out sets, as `fit` does every epoch) and the peak GPU memory of:

    d2lutil fp32, d2lutil amp, d2lutil channels_last, d2lutil torch.compile  (d2lutil.fit)
    DataLoader(TensorDataset)  (the idiomatic PyTorch loop: CPU tensors, each batch copied to the GPU)
    hand-written               (the shortest GPU-resident loop: data on the GPU, slices of a permutation)

side by side in one run, as a markdown table with ratios; then the time the small Inception takes to
reach 100% training accuracy on that data with the paper's schedule (SGD, lr 0.1, momentum 0.9,
lr x0.95 per epoch).

    python benchmarks/gpu.py                         # on a GPU, full size
    python benchmarks/gpu.py --models inception --epochs 5
    python benchmarks/gpu.py --small                 # on a CPU in well under a minute: tiny sizes, same table
"""
from __future__ import annotations

import argparse
import datetime
import functools
import gc
import platform
import statistics
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import NamedTuple

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import d2lutil as d2l
from d2lutil.data import standardize
from d2lutil.precision import AMP_MODES
from throughput import step, synchronize

CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2470, 0.2435, 0.2616)
IMAGE_SHAPE = (3, 28, 28)
NUM_CLASSES = 10
EVAL_BATCH = 1024  # what d2lutil.evaluate uses
ARCHITECTURES = {"inception": ("inception", {}), "alexnet": ("alexnet", {}),
                 "mlp 1x512": ("mlp", {"hidden": (512,)}), "mlp 3x512": ("mlp", {"hidden": (512, 512, 512)})}
FIT_OPTIONS = ("fp32", "amp", "channels_last", "torch.compile")
LOOPS = tuple(f"d2lutil {name}" for name in FIT_OPTIONS) + ("DataLoader(TensorDataset)", "hand-written")
TARGETS = {"DataLoader(TensorDataset)": 3.0, "hand-written": 0.9}  # d2lutil fp32's speed over each, on an H100
FIT_TARGET_S = 300


@dataclass(frozen=True)
class Size:
    """How big a run is: examples, the CNNs' channel multiplier, epochs timed and the fit run's epoch budget."""

    n_train: int
    n_val: int
    width: float
    batch_size: int
    epochs: int
    max_epochs: int


FULL = Size(n_train=50_000, n_val=10_000, width=1.0, batch_size=128, epochs=3, max_epochs=100)
SMALL = Size(n_train=128, n_val=32, width=0.125, batch_size=16, epochs=1, max_epochs=40)


class Splits(NamedTuple):
    """The training and held-out tensors every loop trains and evaluates on."""

    X_train: torch.Tensor
    y_train: torch.Tensor
    X_val: torch.Tensor
    y_val: torch.Tensor


def gaussian_images(n: int, generator: torch.Generator) -> torch.Tensor:
    """`n` images of Gaussian noise with CIFAR-10's per-channel mean and standard deviation (pixels in [0, 1])."""
    mean, std = (torch.tensor(v).view(1, 3, 1, 1) for v in (CIFAR10_MEAN, CIFAR10_STD))
    return mean + std * torch.randn(n, *IMAGE_SHAPE, generator=generator)


def gaussian_cifar(n_train: int, n_val: int, seed: int = 0) -> Splits:
    """The paper's Gaussian-input CIFAR-10, standardized per channel like every course dataset, with uniform labels."""
    gen = torch.Generator().manual_seed(seed)
    X_train, X_val = standardize(gaussian_images(n_train, gen), gaussian_images(n_val, gen))
    return Splits(X_train, torch.randint(NUM_CLASSES, (n_train,), generator=gen),
                  X_val, torch.randint(NUM_CLASSES, (n_val,), generator=gen))


def as_dataset(splits: Splits) -> d2l.Dataset:
    """The splits as the `d2lutil.Dataset` that `fit` trains on, the held-out images being what it evaluates each epoch."""
    return d2l.Dataset(X_train=splits.X_train, y_train=splits.y_train, X_val=splits.X_val, y_val=splits.y_val,
                       X_test=splits.X_val[:0], y_test=splits.y_val[:0], num_classes=NUM_CLASSES, name="gaussian-cifar")


def build(architecture: str, width: float) -> nn.Module:
    """One of the paper's architectures, with the same initial weights every time."""
    name, options = ARCHITECTURES[architecture]
    torch.manual_seed(0)
    return d2l.make_model(name, IMAGE_SHAPE, NUM_CLASSES, width=width, **options)


def fit_options(name: str, amp: str) -> dict:
    """The keyword arguments of `fit` for one of FIT_OPTIONS, `amp` being the mixed-precision mode."""
    return {"fp32": {}, "amp": {"amp": amp}, "channels_last": {"channels_last": True},
            "torch.compile": {"compile_model": True}}[name]


def sgd(net: nn.Module, lr: float = 0.01) -> torch.optim.Optimizer:
    """SGD with momentum 0.9, the same in every loop."""
    return torch.optim.SGD(net.parameters(), lr=lr, momentum=0.9)


class EpochTimer(d2l.Callback):
    """Record the wall time of each of `fit`'s epochs (training pass and evaluations), waiting for the GPU."""

    def __init__(self, device: torch.device) -> None:
        self.device, self.seconds, self.last = device, [], 0.0

    def on_train_begin(self, state: d2l.TrainState) -> None:
        """Start the clock once the model and data are on the device."""
        synchronize(self.device)
        self.last = time.perf_counter()

    def on_epoch_end(self, state: d2l.TrainState) -> None:
        """Record how long this epoch took."""
        synchronize(self.device)
        now = time.perf_counter()
        self.seconds.append(now - self.last)
        self.last = now


def d2lutil_epochs(options: dict, net: nn.Module, splits: Splits, device: torch.device, num_epochs: int,
                   batch_size: int) -> list[float]:
    """Seconds per epoch of `d2lutil.fit` with the fast-path `options` (data handed over on the CPU)."""
    timer = EpochTimer(device)
    d2l.fit(net, as_dataset(splits), num_epochs, optimizer=sgd(net), batch_size=batch_size, callbacks=[timer],
            device=device, progress=False, **options)
    return timer.seconds


@torch.no_grad()
def evaluate_batches(net: nn.Module, batches: Iterable[tuple[torch.Tensor, torch.Tensor]]) -> tuple[float, float]:
    """Mean loss and accuracy over (X, y) batches, summed on the device and read once."""
    net.eval()
    total_loss = correct = count = 0
    for Xb, yb in batches:
        scores = net(Xb)
        total_loss = total_loss + nn.functional.cross_entropy(scores, yb, reduction="sum")
        correct, count = correct + (scores.argmax(dim=1) == yb).sum(), count + len(yb)
    return float(total_loss) / count, int(correct) / count


def timed_epochs(num_epochs: int, device: torch.device, epoch: Callable[[], None]) -> list[float]:
    """Seconds of each of `num_epochs` calls of `epoch`, waiting for the GPU."""
    seconds = []
    for _ in range(num_epochs):
        synchronize(device)
        start = time.perf_counter()
        epoch()
        synchronize(device)
        seconds.append(time.perf_counter() - start)
    return seconds


def dataloader_epochs(net: nn.Module, splits: Splits, device: torch.device, num_epochs: int,
                      batch_size: int) -> list[float]:
    """Seconds per epoch of the idiomatic loop: DataLoaders over CPU TensorDatasets, each batch copied to the device."""
    net.to(device)
    optimizer, loss_fn, pin = sgd(net), nn.CrossEntropyLoss(), device.type == "cuda"
    loader = lambda X, y, **kw: DataLoader(TensorDataset(X, y), pin_memory=pin, **kw)  # noqa: E731
    train = loader(splits.X_train, splits.y_train, batch_size=batch_size, shuffle=True,
                   generator=torch.Generator().manual_seed(0))
    evals = [loader(splits.X_train, splits.y_train, batch_size=EVAL_BATCH), loader(splits.X_val, splits.y_val, batch_size=EVAL_BATCH)]
    on_device = lambda batches: ((X.to(device, non_blocking=True), y.to(device, non_blocking=True)) for X, y in batches)  # noqa: E731

    def epoch() -> None:
        net.train()
        for Xb, yb in on_device(train):
            step(net, optimizer, loss_fn, Xb, yb)
        for batches in evals:
            evaluate_batches(net, on_device(batches))
    return timed_epochs(num_epochs, device, epoch)


def handwritten_epochs(net: nn.Module, splits: Splits, device: torch.device, num_epochs: int,
                       batch_size: int) -> list[float]:
    """Seconds per epoch of the shortest GPU-resident loop: data moved once, batches sliced by a permutation."""
    net.to(device)
    X, y, X_val, y_val = (t.to(device) for t in splits)
    optimizer, loss_fn = sgd(net), nn.CrossEntropyLoss()
    slices = lambda X, y: ((X[i:i + EVAL_BATCH], y[i:i + EVAL_BATCH]) for i in range(0, len(y), EVAL_BATCH))  # noqa: E731

    def epoch() -> None:
        net.train()
        order = torch.randperm(len(y), device=device)
        for start in range(0, len(y), batch_size):
            idx = order[start:start + batch_size]
            step(net, optimizer, loss_fn, X[idx], y[idx])
        evaluate_batches(net, slices(X, y))
        evaluate_batches(net, slices(X_val, y_val))
    return timed_epochs(num_epochs, device, epoch)


@dataclass
class Row:
    """One line of the table: seconds per epoch (median of the timed epochs) and peak GPU MiB, or why it was skipped."""

    architecture: str
    loop: str
    seconds: float | None = None
    peak_mib: float | None = None
    skipped: str | None = None


def skip_reason(loop: str, device: torch.device) -> str | None:
    """Why `loop` cannot run here, or None."""
    if loop == "d2lutil torch.compile" and device.type == "cpu":
        return "torch.compile on a CPU: compiling each model (a C++ build) takes longer than the whole --small run"
    return None


def measure(architecture: str, loop: str, splits: Splits, device: torch.device, size: Size,
            args: argparse.Namespace) -> Row:
    """Train `architecture` with `loop` for one warm-up and `size.epochs` timed epochs; its row of the table."""
    reason = skip_reason(loop, device)
    if reason:
        return Row(architecture, loop, skipped=reason)
    net = build(architecture, size.width)
    if loop.startswith("d2lutil"):
        run = functools.partial(d2lutil_epochs, fit_options(loop.removeprefix("d2lutil "), args.amp))
    else:
        run = dataloader_epochs if loop.startswith("DataLoader") else handwritten_epochs
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)
    torch._dynamo.reset()
    seconds = run(net, splits, device, 1 + size.epochs, size.batch_size)
    peak = torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None
    return Row(architecture, loop, statistics.median(seconds[1:]), peak)


@dataclass
class FitRun:
    """The small Inception fitting Gaussian noise: epochs run, seconds, and the last training accuracy."""

    epochs: int
    seconds: float
    train_acc: float


def time_to_fit(splits: Splits, device: torch.device, size: Size, args: argparse.Namespace) -> FitRun:
    """Train the small Inception with the paper's schedule until 100% training accuracy (or `size.max_epochs`)."""
    net = build("inception", size.width)
    optimizer = sgd(net, lr=0.1)
    synchronize(device)
    start = time.perf_counter()
    history = d2l.fit(net, as_dataset(splits), size.max_epochs, optimizer=optimizer, batch_size=size.batch_size,
                      scheduler=torch.optim.lr_scheduler.ExponentialLR(optimizer, 0.95),
                      callbacks=[d2l.StopAtAccuracy(1.0)], device=device, progress=False,
                      **fit_options(args.fit_options, args.amp))
    synchronize(device)
    return FitRun(len(history.train_acc), time.perf_counter() - start, history.train_acc[-1])


def machine(device: torch.device) -> str:
    """The device, torch's version and its precision settings, in one line."""
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or platform.machine()
    return (f"device {device} ({name}), torch {torch.__version__}, {torch.get_num_threads()} CPU threads, "
            f"float32 matmul precision {torch.get_float32_matmul_precision()!r}, "
            f"cudnn.allow_tf32={torch.backends.cudnn.allow_tf32}, cudnn.benchmark={torch.backends.cudnn.benchmark}, "
            f"{datetime.date.today().isoformat()}")


def cell(row: Row, base_seconds: float) -> str:
    """One loop's figures for the table: seconds per epoch, speed relative to d2lutil fp32, peak GPU memory."""
    if row.skipped:
        return "skipped"
    memory = "n/a" if row.peak_mib is None else f"{row.peak_mib:,.0f} MiB"
    return f"{row.seconds:.3g} s, {base_seconds / row.seconds:.2f}x, {memory}"


def print_table(rows: list[Row], device: torch.device) -> None:
    """The markdown table, one line per architecture, one column per loop."""
    print(f"| model | {' | '.join(LOOPS)} |\n| --- |{' --- |' * len(LOOPS)}")
    for architecture in dict.fromkeys(row.architecture for row in rows):
        mine = {row.loop: row for row in rows if row.architecture == architecture}
        print(f"| {architecture} | {' | '.join(cell(mine[loop], mine['d2lutil fp32'].seconds) for loop in LOOPS)} |")
    print("each cell: seconds per epoch (median), speed relative to d2lutil fp32, peak GPU memory")
    for reason in sorted({row.skipped for row in rows if row.skipped}):
        print(f"skipped: {reason}")
    if device.type != "cuda":
        print("peak GPU memory: n/a, there is no GPU memory on a CPU")
    else:
        print("peak GPU memory counts the data where a loop keeps it on the GPU (d2lutil, hand-written)")


def print_targets(rows: list[Row], full_on_gpu: bool) -> None:
    """d2lutil fp32's speed over the DataLoader and hand-written loops, against the targets where they apply."""
    seconds = {(row.architecture, row.loop): row.seconds for row in rows}
    for architecture in dict.fromkeys(row.architecture for row in rows):
        parts = []
        for loop, target in TARGETS.items():
            ratio = seconds[architecture, loop] / seconds[architecture, "d2lutil fp32"]
            cnn_only = loop.startswith("DataLoader") and architecture.startswith("mlp")
            verdict = ("" if cnn_only else f", {'met' if ratio >= target else 'MISSED'}") if full_on_gpu else ""
            parts.append(f"{ratio:.2f}x the {loop} loop (target >= {target:.2f}x{' for the CNNs' if loop.startswith('DataLoader') else ''}{verdict})")
        print(f"{architecture}: d2lutil fp32 runs at " + " and ".join(parts))
    if not full_on_gpu:
        print("targets: they apply to the full size on an H100-class GPU, not checked here")


def print_fit(run: FitRun, size: Size, args: argparse.Namespace, full_on_gpu: bool) -> None:
    """How long the small Inception took to fit the noise."""
    reached = run.train_acc >= 1.0
    verdict = f", target < {FIT_TARGET_S} s: {'met' if reached and run.seconds < FIT_TARGET_S else 'MISSED'}" if full_on_gpu else ""
    outcome = (f"reached 100% training accuracy after {run.epochs} epochs" if reached
               else f"did not reach 100% training accuracy in {run.epochs} epochs (last {run.train_acc:.4f})")
    print(f"fit Gaussian inputs: small Inception (width {size.width}), d2lutil {args.fit_options}, "
          f"SGD lr 0.1, momentum 0.9, lr x0.95 per epoch, batch {size.batch_size}: {outcome} in {run.seconds:.4g} s{verdict}")


def parse_args() -> argparse.Namespace:
    """The benchmark's knobs."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", action="store_true",
                        help=f"tiny sizes ({SMALL.n_train} + {SMALL.n_val} images, CNN width {SMALL.width}, "
                             f"batch {SMALL.batch_size}, {SMALL.epochs} timed epoch), on the CPU unless --device says otherwise")
    parser.add_argument("--device", choices=("cpu", "cuda"), help="default: cuda, or cpu with --small")
    parser.add_argument("--models", nargs="+", choices=ARCHITECTURES, default=list(ARCHITECTURES), metavar="MODEL",
                        help=f"architectures to time, of {', '.join(map(repr, ARCHITECTURES))} (default: all)")
    parser.add_argument("--epochs", type=int, help="timed epochs per row, after one warm-up epoch (median reported)")
    parser.add_argument("--batch-size", type=int, help=f"default: {FULL.batch_size}, or {SMALL.batch_size} with --small")
    parser.add_argument("--amp", default="auto", choices=AMP_MODES, help="the mixed-precision mode of the amp rows")
    parser.add_argument("--fit-options", default="fp32", choices=FIT_OPTIONS,
                        help="the d2lutil option the fit-to-100%% run uses (default fp32, as the paper)")
    args = parser.parse_args()
    for name in ("epochs", "batch_size"):
        if getattr(args, name) is not None:
            try:
                d2l.check_positive_int(name, getattr(args, name))
            except ValueError as err:
                parser.error(str(err))
    args.device = args.device or ("cpu" if args.small else "cuda")
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("no CUDA GPU is visible (torch.cuda.is_available() is False); on a CPU run --small")
    return args


def main() -> None:
    """Time every architecture with every loop, print the table and the targets, then time the fit to 100%."""
    args = parse_args()
    size = replace(SMALL if args.small else FULL,
                   **{name: getattr(args, name) for name in ("epochs", "batch_size") if getattr(args, name) is not None})
    device = torch.device(args.device)
    full_on_gpu = device.type == "cuda" and not args.small
    splits = gaussian_cifar(size.n_train, size.n_val)
    print(f"Gaussian-input CIFAR-10: {size.n_train:,} + {size.n_val:,} images of {'x'.join(map(str, IMAGE_SHAPE))}, "
          f"{NUM_CLASSES} uniform labels; batch {size.batch_size}, SGD lr 0.01 momentum 0.9, CNN width {size.width}, "
          f"amp={args.amp!r}; 1 warm-up + {size.epochs} timed epoch(s) per row (median)")
    print(machine(device))
    if args.small:
        print("--small: tiny sizes and one timed epoch check that every path runs; its figures do not measure speed")
    rows = []
    for architecture in args.models:
        for loop in LOOPS:
            rows.append(measure(architecture, loop, splits, device, size, args))
            print(f"  measured {architecture}, {loop}", flush=True)
    print()
    print_table(rows, device)
    print()
    print_targets(rows, full_on_gpu)
    print_fit(time_to_fit(splits, device, size, args), size, args, full_on_gpu)


if __name__ == "__main__":
    main()
