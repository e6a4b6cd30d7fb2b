"""Training throughput of d2lutil's loop against a DataLoader loop and a hand-written loop (a benchmark, not a test).

Same model, same data, same optimizer, same machine, in one run: the loops take turns epoch by epoch
in one process (each on its own copy of the model), so that load from other programs hits every loop
alike; the medians are reported with their ratios, then each loop's peak memory, measured alone in a
fresh process.

    python benchmarks/throughput.py                      # MLP on MNIST-sized synthetic data
    python benchmarks/throughput.py --model cnn --n 20000 --shape 3 32 32 --device auto --amp auto
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import resource
import statistics
import time
from collections.abc import Callable

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import d2lutil as d2l
from d2lutil.precision import AMP_MODES, Precision
from d2lutil.train import train_epoch

LOOPS = ("d2lutil", "DataLoader(TensorDataset)", "hand-written")


def make_setup(args: argparse.Namespace, device: torch.device) -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    """The model and synthetic data every loop trains on, built from the same seed."""
    gen = torch.Generator().manual_seed(0)
    X = torch.randn(args.n, *args.shape, generator=gen).to(device)
    y = torch.randint(0, 10, (args.n,), generator=gen).to(device)
    torch.manual_seed(0)
    net = d2l.make_model(args.model, args.shape, hidden=args.hidden).to(device)
    return net, X, y


def step(net: nn.Module, optimizer: torch.optim.Optimizer, loss_fn: nn.Module, Xb: torch.Tensor,
         yb: torch.Tensor) -> None:
    """One plain minibatch SGD step, as a learner would write it."""
    loss = loss_fn(net(Xb), yb)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()


def dataloader_epoch(net: nn.Module, X: torch.Tensor, y: torch.Tensor, optimizer: torch.optim.Optimizer,
                     loss_fn: nn.Module, batch_size: int, generator: torch.Generator) -> None:
    """The idiomatic PyTorch epoch: a DataLoader over a TensorDataset, shuffled."""
    for Xb, yb in DataLoader(TensorDataset(X, y), batch_size=batch_size, shuffle=True, generator=generator):
        step(net, optimizer, loss_fn, Xb, yb)


def handwritten_epoch(net: nn.Module, X: torch.Tensor, y: torch.Tensor, optimizer: torch.optim.Optimizer,
                      loss_fn: nn.Module, batch_size: int, generator: torch.Generator) -> None:
    """The shortest in-memory epoch: one permutation, then slices of it."""
    order = torch.randperm(len(y), generator=generator).to(X.device)
    for start in range(0, len(y), batch_size):
        idx = order[start:start + batch_size]
        step(net, optimizer, loss_fn, X[idx], y[idx])


def d2lutil_epoch(args: argparse.Namespace, device: torch.device) -> Callable:
    """d2lutil's own epoch (what `fit` runs between evaluations), with the benchmark's mixed precision resolved once."""
    precision = Precision.resolve(args.amp, device)

    def epoch(net, X, y, optimizer, loss_fn, batch_size, generator):
        train_epoch(net, X, y, optimizer, loss_fn, batch_size, generator, precision=precision)
    return epoch


def synchronize(device: torch.device) -> None:
    """Wait for queued GPU work so that a timer reads the real time."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def make_trainer(loop: str, args: argparse.Namespace, device: torch.device) -> Callable[[], None]:
    """One epoch of `loop` on its own copy of the model, optimizer and batch-order generator, all seeded alike."""
    net, X, y = make_setup(args, device)
    epoch = {"d2lutil": d2lutil_epoch(args, device), "DataLoader(TensorDataset)": dataloader_epoch,
             "hand-written": handwritten_epoch}[loop]
    optimizer, loss_fn = torch.optim.SGD(net.parameters(), lr=0.01), nn.CrossEntropyLoss()
    generator = torch.Generator().manual_seed(0)
    net.train()
    return lambda: epoch(net, X, y, optimizer, loss_fn, args.batch_size, generator)


def timed(train: Callable[[], None], args: argparse.Namespace, device: torch.device) -> dict[str, float]:
    """Samples per second of wall time and of this process's CPU time over args.epochs epochs."""
    synchronize(device)
    start, cpu_start = time.perf_counter(), time.process_time()
    for _ in range(args.epochs):
        train()
    synchronize(device)
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    return {"samples_per_s": args.epochs * args.n / seconds, "samples_per_cpu_s": args.epochs * args.n / cpu_seconds}


def peak_memory(loop: str, args: argparse.Namespace) -> float:
    """Peak memory in MiB of a warm-up and one epoch: GPU memory on a GPU, else the whole process's resident set."""
    torch.set_num_threads(args.threads or torch.get_num_threads())
    device = d2l.choose_device(args.device)
    train = make_trainer(loop, args, device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    train()
    train()
    synchronize(device)
    peak = (torch.cuda.max_memory_allocated(device) if device.type == "cuda"
            else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
    return peak / 2**20


def run_isolated(loop: str, args: argparse.Namespace) -> float:
    """`peak_memory` in a fresh process, so that each loop's peak is its own."""
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(peak_memory, (loop, args))


def report(samples: dict[str, list[dict[str, float]]], peaks: dict[str, float], args: argparse.Namespace) -> None:
    """Print each loop's median throughput per second of wall time and of CPU time, their ratios, and peak memory.

    On a machine shared with other programs, wall time also counts the time they took the cores away;
    CPU time (this process's user + sys) does not, so its ratios are the steadier comparison there.
    """
    median = {loop: {key: statistics.median(s[key] for s in runs) for key in runs[0]} for loop, runs in samples.items()}
    device = d2l.choose_device(args.device)
    where = torch.cuda.get_device_name(device) if device.type == "cuda" else f"{platform.processor() or platform.machine()}"
    print(f"\n{args.model} {args.hidden if args.model == 'mlp' else ''} on {args.n} x {tuple(args.shape)} synthetic data, "
          f"batch {args.batch_size}, {args.epochs} epochs x {args.repeats} repeats, device {device} ({where}), "
          f"{args.threads or torch.get_num_threads()} threads, amp={args.amp}, torch {torch.__version__}, "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"{'loop':28s} {'samples/s':>10s} {'min':>8s} {'max':>8s} {'per CPU s':>10s} {'peak MiB':>9s}   (medians; CPU peak includes Python and torch)")
    for loop, runs in samples.items():
        rates = [s["samples_per_s"] for s in runs]
        print(f"{loop:28s} {median[loop]['samples_per_s']:10,.0f} {min(rates):8,.0f} {max(rates):8,.0f} "
              f"{median[loop]['samples_per_cpu_s']:10,.0f} {peaks[loop]:9,.0f}")
    for other, target in (("DataLoader(TensorDataset)", ">= 1.3x"), ("hand-written", ">= 0.90x")):
        wall, cpu = (median["d2lutil"][key] / median[other][key] for key in ("samples_per_s", "samples_per_cpu_s"))
        print(f"d2lutil / {other + ':':27s} {wall:.2f}x wall, {cpu:.2f}x CPU  (target {target})")


def parse_args() -> argparse.Namespace:
    """The benchmark's knobs."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="mlp", choices=d2l.MODELS)
    parser.add_argument("--hidden", type=int, nargs="+", default=[512], help="the MLP's hidden widths")
    parser.add_argument("--n", type=int, default=60000, help="training examples")
    parser.add_argument("--shape", type=int, nargs=3, default=[1, 28, 28], metavar=("C", "H", "W"))
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--epochs", type=int, default=2, help="timed epochs per repeat (after one warm-up epoch)")
    parser.add_argument("--repeats", type=int, default=5, help="repeats of each loop; medians are reported")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--device", default="cpu", choices=d2l.DEVICES)
    parser.add_argument("--amp", default=None, choices=AMP_MODES, help="mixed precision for d2lutil's loop")
    return parser.parse_args()


def main() -> None:
    """Time every loop `repeats` times, taking turns in one process, then measure each one's peak memory alone."""
    args = parse_args()
    torch.set_num_threads(args.threads or torch.get_num_threads())
    device = d2l.choose_device(args.device)
    trainers = {loop: make_trainer(loop, args, device) for loop in LOOPS}
    for train in trainers.values():
        train()  # warm-up
    samples: dict[str, list[dict[str, float]]] = {loop: [] for loop in LOOPS}
    for repeat in range(args.repeats):
        for loop in LOOPS[repeat % len(LOOPS):] + LOOPS[:repeat % len(LOOPS)]:
            samples[loop].append(timed(trainers[loop], args, device))
            print(f"repeat {repeat + 1}/{args.repeats} {loop:28s} {samples[loop][-1]['samples_per_s']:,.0f} samples/s",
                  flush=True)
    report(samples, {loop: run_isolated(loop, args) for loop in LOOPS}, args)


if __name__ == "__main__":
    main()
