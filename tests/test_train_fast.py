"""The training loop's fast path: mixed precision, channels_last, torch.compile and a checkpoint folder."""
import os
import sys

import pytest
import torch
from torch import nn

import d2lutil
from d2lutil.checkpoints import checkpoint_file, resolve_checkpoint_dir, run_fingerprint
from d2lutil.data import iterate_batches
from d2lutil.precision import Precision, amp_dtype
from d2lutil.train import to_channels_last


@pytest.fixture(scope="module")
def small(digits):
    """A small digits subset so each training run takes a fraction of a second."""
    return digits.subset(300, 200, 200, seed=0)


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Train these tiny models on one thread: on a busy machine, more threads only wait for each other."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def make(model: str = "mlp", seed: int = 0) -> nn.Module:
    """A fresh small model with the same initial weights for the same seed."""
    return d2lutil.make_model(model, (1, 8, 8), hidden=(32,), width=0.25, seed=seed)


class DtypeSpy(nn.Module):
    """Passes its input through and records its dtype, to see what autocast did upstream."""

    def __init__(self) -> None:
        super().__init__()
        self.dtypes: set[torch.dtype] = set()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.dtypes.add(x.dtype)
        return x


@pytest.mark.parametrize("amp, device, expected", [
    (None, "cpu", None), ("auto", "cpu", torch.bfloat16), ("bf16", "cpu", torch.bfloat16), ("fp16", "cpu", torch.float16),
])
def test_amp_dtype_of_each_mode(amp, device, expected):
    assert amp_dtype(amp, device) == expected


def test_amp_auto_falls_back_to_float16_where_bfloat16_is_unsupported(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: False)
    assert amp_dtype("auto", "cuda") == torch.float16
    with pytest.raises(ValueError, match="amp='bf16' is not supported on cuda"):
        amp_dtype("bf16", "cuda")
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: True)
    assert amp_dtype("auto", "cuda") == torch.bfloat16


@pytest.mark.parametrize("amp", ["fp32", "float16", "", True])
def test_unknown_amp_mode_is_rejected_before_training(small, amp):
    net = make()
    before = [p.clone() for p in net.parameters()]
    with pytest.raises(ValueError, match="'auto', 'bf16', 'fp16'"):
        d2lutil.fit(net, small, 1, amp=amp, progress=False)
    assert all(torch.equal(a, b) for a, b in zip(before, net.parameters()))


def test_precision_is_resolved_once_and_only_float16_gets_a_gradient_scaler():
    assert isinstance(Precision.resolve("fp16", "cpu").scaler, torch.amp.GradScaler)
    assert Precision.resolve("bf16", "cpu") == Precision("cpu", torch.bfloat16, None)
    assert Precision.resolve(None, "cpu") == Precision("cpu", None, None)


def test_fit_resolves_the_precision_once(small, monkeypatch):
    calls = []
    resolve = Precision.resolve.__func__
    monkeypatch.setattr(Precision, "resolve", classmethod(lambda cls, *args: calls.append(args) or resolve(cls, *args)))
    d2lutil.fit(make(), small, 3, batch_size=32, amp="bf16", progress=False)
    assert calls == [("bf16", torch.device("cpu"))]


@pytest.mark.parametrize("amp, dtype", [(None, torch.float32), ("bf16", torch.bfloat16), ("fp16", torch.float16)])
def test_amp_runs_forward_passes_in_its_dtype_and_still_learns(small, amp, dtype, device):
    spy = DtypeSpy()
    net = nn.Sequential(make(), spy)
    history = d2lutil.fit(net, small, 6, lr=0.1, batch_size=32, amp=amp, progress=False, device=device)
    assert spy.dtypes == {dtype}
    assert all(p.dtype == torch.float32 for p in net.parameters())  # weights stay in full precision
    assert history.train_loss[-1] < history.train_loss[0] / 2 and history.val_acc[-1] > 0.7


def test_bf16_gives_different_but_close_numbers_from_full_precision(small, device):
    full = d2lutil.fit(make(), small, 3, batch_size=32, progress=False, device=device)
    bf16 = d2lutil.fit(make(), small, 3, batch_size=32, amp="bf16", progress=False, device=device)
    assert full.train_loss != bf16.train_loss
    assert bf16.train_loss == pytest.approx(full.train_loss, rel=0.05)


def test_evaluate_under_amp_autocasts(small, device):
    spy = DtypeSpy()
    net = nn.Sequential(make(), spy).to(device)
    X, y = small.X_val.to(device), small.y_val.to(device)
    d2lutil.evaluate(net, X, y, precision=Precision.resolve("bf16", device))
    assert spy.dtypes == {torch.bfloat16}
    with pytest.raises(ValueError, match="amp='half'"):
        Precision.resolve("half", device)


def test_channels_last_converts_a_cnn_and_its_images(small):
    rgb = d2lutil.Dataset(small.X_train.repeat(1, 3, 1, 1), small.y_train, small.X_val.repeat(1, 3, 1, 1),
                          small.y_val, small.X_test.repeat(1, 3, 1, 1), small.y_test, 10, "rgb")
    net, data = to_channels_last(d2lutil.make_model("cnn", (3, 8, 8), width=0.25), rgb)
    conv = next(m for m in net.modules() if isinstance(m, nn.Conv2d))
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    assert data.X_train.stride(1) == data.X_val.stride(1) == 1 != rgb.X_train.stride(1)  # channels innermost
    assert data.X_test is rgb.X_test  # fit never reads the test split
    assert torch.equal(data.X_train, rgb.X_train) and torch.equal(data.y_test, rgb.y_test)


def test_channels_last_leaves_non_image_data_alone(small):
    flat = d2lutil.Dataset(small.X_train.flatten(1), small.y_train, small.X_val.flatten(1), small.y_val,
                           small.X_test.flatten(1), small.y_test, 10, "flat")
    net = nn.Linear(64, 10)
    assert to_channels_last(net, flat) == (net, flat)


def test_channels_last_training_matches_the_default_layout(small, device):
    default = d2lutil.fit(make("cnn"), small, 2, batch_size=50, progress=False, device=device)
    fast = d2lutil.fit(make("cnn"), small, 2, batch_size=50, channels_last=True, progress=False, device=device)
    assert fast.train_loss == pytest.approx(default.train_loss, rel=1e-4)
    assert fast.val_acc == pytest.approx(default.val_acc, abs=0.011)


def test_compile_model_trains_the_compiled_module_and_keeps_the_weights_in_net(small, monkeypatch):
    compiled = []

    def fake_compile(module):
        compiled.append(module)
        return nn.Sequential(module)  # a different module object that shares the weights, as torch.compile's does

    monkeypatch.setattr(torch, "compile", fake_compile)
    net = make()
    before = [p.clone() for p in net.parameters()]
    d2lutil.fit(net, small, 1, batch_size=32, compile_model=True, progress=False)
    assert compiled == [net]
    assert not all(torch.equal(a, b) for a, b in zip(before, net.parameters()))


@pytest.mark.cuda
def test_real_compile_on_cuda_trains_like_the_eager_model(small):
    eager = d2lutil.fit(make("cnn"), small, 2, batch_size=50, progress=False, device="cuda")
    compiled = d2lutil.fit(make("cnn"), small, 2, batch_size=50, compile_model=True, progress=False, device="cuda")
    assert compiled.train_loss == pytest.approx(eager.train_loss, rel=1e-3)
    assert compiled.val_acc == pytest.approx(eager.val_acc, abs=0.011)


def reference_fit(net: nn.Module, data: d2lutil.Dataset, num_epochs: int, lr: float, batch_size: int, seed: int):
    """The plain loop `fit` ran before the fast path: SGD over batches in a seeded order, then evaluation."""
    optimizer, generator = torch.optim.SGD(net.parameters(), lr=lr), torch.Generator().manual_seed(seed)
    val_acc = []
    for _ in range(num_epochs):
        net.train()
        for Xb, yb in iterate_batches(data.X_train, data.y_train, batch_size, shuffle=True, generator=generator):
            loss = nn.functional.cross_entropy(net(Xb), yb)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        net.eval()
        with torch.no_grad():
            val_acc.append(int((net(data.X_val).argmax(1) == data.y_val).sum()) / len(data.y_val))
    return val_acc


@pytest.mark.parametrize("options", [{"amp": None, "channels_last": False, "compile_model": False},
                                     {"checkpoint_dir": "ckpt"}])
def test_with_the_options_off_results_are_bit_identical_to_the_plain_loop(small, tmp_path, options, device):
    options = {k: (tmp_path / v if k == "checkpoint_dir" else v) for k, v in options.items()}
    expected_net = make("cnn", seed=1).to(device)
    expected_acc = reference_fit(expected_net, small.to(device), 2, 0.1, 32, seed=4)
    net = make("cnn", seed=1)
    history = d2lutil.fit(net, small, 2, lr=0.1, batch_size=32, seed=4, progress=False, device=device, **options)
    assert history.val_acc == expected_acc
    assert all(torch.equal(a, b) for a, b in zip(net.state_dict().values(), expected_net.state_dict().values()))


def test_checkpoint_dir_resumes_an_interrupted_run_with_the_same_history(small, tmp_path, interrupt_at, device):
    run = lambda net, *callbacks: d2lutil.fit(net, small, 6, lr=0.05, batch_size=32, seed=2, amp="bf16",  # noqa: E731
                                              checkpoint_dir=tmp_path, desc="digits mlp", callbacks=callbacks,
                                              progress=False, device=device)
    full = d2lutil.fit(make(), small, 6, lr=0.05, batch_size=32, seed=2, amp="bf16", progress=False, device=device)
    with pytest.raises(KeyboardInterrupt):
        run(make(), interrupt_at(3))
    saved = list(tmp_path.glob("*.pt"))
    assert len(saved) == 1 and saved[0].name.startswith("digits-mlp-")
    torch.manual_seed(123)  # a new process would start with other RNG state
    resumed = run(make())
    assert resumed.as_dict() == full.as_dict()
    assert list(tmp_path.glob("*.pt")) == saved


def test_a_different_run_does_not_resume_another_runs_checkpoint(small, tmp_path):
    d2lutil.fit(make(), small, 2, batch_size=32, seed=0, checkpoint_dir=tmp_path, progress=False)
    other = d2lutil.fit(make(), small, 2, batch_size=32, seed=1, checkpoint_dir=tmp_path, progress=False)
    assert len(other) == 2 and len(list(tmp_path.glob("*.pt"))) == 2


def test_run_fingerprint_changes_with_what_determines_the_run(small):
    net = make()
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    base = run_fingerprint(net, small, opt, 0, 32)
    assert base == run_fingerprint(net, small, opt, 0, 32)
    assert len({base, run_fingerprint(net, small, opt, 1, 32), run_fingerprint(net, small, opt, 0, 64),
                run_fingerprint(net, small, opt, 0, 32, dtype=torch.bfloat16), run_fingerprint(make(seed=5), small, opt, 0, 32),
                run_fingerprint(net, small.subset(200, 200), opt, 0, 32)}) == 6


def test_checkpoint_file_is_a_safe_file_name_in_the_folder(tmp_path):
    assert checkpoint_file(tmp_path, "p=0.2 / mlp-abc123") == tmp_path / "p=0.2-mlp-abc123.pt"
    assert checkpoint_file(tmp_path, "///") == tmp_path / "run.pt"
    assert checkpoint_file(tmp_path, "../../etc/x") == tmp_path / "etc-x.pt"


def test_local_checkpoint_dir_is_used_as_given(tmp_path):
    assert resolve_checkpoint_dir(tmp_path) == tmp_path
    assert resolve_checkpoint_dir(str(tmp_path / "a" / "b")) == tmp_path / "a" / "b" and (tmp_path / "a" / "b").is_dir()


def test_a_checkpoint_dir_that_cannot_be_created_or_written_is_refused_before_training(small, tmp_path, monkeypatch):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="notes.txt/sub cannot be created .*give a folder you can write to"):
        d2lutil.fit(make(), small, 1, checkpoint_dir=tmp_path / "notes.txt" / "sub", progress=False)
    monkeypatch.setattr(os, "access", lambda path, mode: False)  # as a read-only folder appears to a non-root user
    with pytest.raises(ValueError, match="is not writable; give a folder you can write to"):
        d2lutil.fit(make(), small, 1, checkpoint_dir=tmp_path, progress=False)


@pytest.mark.parametrize("folder, match", [("drive:course/ckpt", "needs Google Colab"), ("", "checkpoint_dir=''")])
def test_drive_outside_colab_and_empty_folder_are_rejected(small, monkeypatch, folder, match):
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    with pytest.raises(ValueError, match=match):
        resolve_checkpoint_dir(folder)
    with pytest.raises(ValueError, match=match):
        d2lutil.fit(make(), small, 1, checkpoint_dir=folder, progress=False)
