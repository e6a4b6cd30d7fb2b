"""Resumable checkpoints: where they live (a folder or Google Drive), which run they belong to, and proof they are intact.

A checkpoint file is one JSON header line (format, version, the run's fingerprint, the SHA-256 of the
rest) followed by the bytes `torch.save` wrote. It is written to a temporary file and renamed into
place, so a crash mid-write leaves the previous checkpoint whole; on resume the header and checksum
are checked before anything is unpickled, and a file that fails is reported, never resumed.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path

import torch
from torch import nn

from .callbacks import Callback, History, TrainState
from .data import Dataset
from .environment import in_colab

DRIVE_PREFIX = "drive:"
DRIVE_ROOT = Path("/content/drive/MyDrive")
FORMAT, VERSION = "d2lutil-checkpoint", 1


class CheckpointError(RuntimeError):
    """A checkpoint file that cannot be resumed: damaged, foreign, or of another run."""

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(f"Cannot resume from the checkpoint {path}: {problem}. Nothing was loaded from it. "
                         "Delete that file to start this run from scratch, or pass resume=False to fit to "
                         "start fresh and overwrite it.")
        self.path = path


def resolve_checkpoint_dir(folder: str | Path) -> Path:
    """The checkpoint folder, created and checked writable: a local folder, or 'drive:SUBFOLDER' in Google Drive on Colab."""
    text = str(folder)
    if not text:
        raise ValueError("checkpoint_dir='' is not allowed; give a folder, or 'drive:SUBFOLDER' on Colab")
    if text.startswith(DRIVE_PREFIX):
        if not in_colab():
            raise ValueError(f"checkpoint_dir={text!r} needs Google Colab (Google Drive is mounted there); "
                             "outside Colab give a local folder such as 'checkpoints'")
        from google.colab import drive

        drive.mount(str(DRIVE_ROOT.parent))
        path = DRIVE_ROOT / text[len(DRIVE_PREFIX):].strip("/")
    else:
        path = Path(text)
    if path.exists() and not path.is_dir():
        raise ValueError(f"checkpoint_dir={text!r} is not allowed: {path} is a file; give a folder "
                         "(it is created if missing), or 'drive:SUBFOLDER' on Colab")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ValueError(f"checkpoint_dir={text!r} is not allowed: {path} cannot be created ({err.strerror}); "
                         "give a folder you can write to") from err
    if not os.access(path, os.W_OK):
        raise ValueError(f"checkpoint_dir={text!r} is not allowed: {path} is not writable; give a folder you can write to")
    return path


def checkpoint_file(checkpoint_dir: str | Path, name: str) -> Path:
    """The checkpoint of the run called `name` in `checkpoint_dir` (a folder or 'drive:SUBFOLDER'): <slug of name>.pt."""
    slug = re.sub(r"[^A-Za-z0-9._+=-]+", "-", name).strip("-.") or "run"
    return resolve_checkpoint_dir(checkpoint_dir) / f"{slug}.pt"


def _tensor_bytes(tensor: torch.Tensor) -> bytes:
    """The raw bytes of a tensor of any dtype, on the CPU."""
    return tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()


def run_fingerprint(net: nn.Module, data: Dataset, optimizer: torch.optim.Optimizer, seed: int, batch_size: int,
                    augment: Callable | None = None, dtype: torch.dtype | None = None) -> str:
    """A short hash of what determines a run (initial weights, data, optimizer, seed, precision...)."""
    digest = hashlib.sha256(repr((
        repr(net), data.name, tuple(data.X_train.shape), tuple(data.X_val.shape), seed, batch_size, str(dtype),
        type(optimizer).__name__, [{k: v for k, v in group.items() if k != "params"} for group in optimizer.param_groups],
    )).encode())
    probe = (data.X_train[:64], data.y_train[:64])
    if augment is not None:
        probe = augment(probe[0].clone(), probe[1].clone(), torch.Generator().manual_seed(0))
    for tensor in (*net.state_dict().values(), data.y_train, data.y_val, *probe):
        digest.update(_tensor_bytes(tensor))
    return digest.hexdigest()[:16]


def write_checkpoint(path: Path, payload: dict, fingerprint: str) -> None:
    """Write `payload` behind a header with its checksum, atomically (a crash mid-write keeps the old file)."""
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    body = buffer.getvalue()
    header = {"format": FORMAT, "version": VERSION, "run": fingerprint, "sha256": hashlib.sha256(body).hexdigest(),
              "bytes": len(body)}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.tmp")
    try:
        with open(tmp, "wb") as file:
            file.write(json.dumps(header).encode() + b"\n" + body)
            file.flush()
            os.fsync(file.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def read_header(path: Path, raw: bytes) -> tuple[dict, bytes]:
    """Split a checkpoint file into its header and body, or say why it is not a d2lutil checkpoint."""
    line, newline, body = raw.partition(b"\n")
    try:
        header = json.loads(line) if newline else None
    except (UnicodeDecodeError, json.JSONDecodeError):
        header = None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise CheckpointError(path, f"it is not a {FORMAT} file (no valid header: a foreign or garbage file, "
                                    "or one written by an older version)")
    if header.get("version") != VERSION:
        raise CheckpointError(path, f"its format version is {header.get('version')!r}; this d2lutil reads version {VERSION}")
    return header, body


def read_checkpoint(path: Path, fingerprint: str) -> dict:
    """The verified payload of the checkpoint of run `fingerprint` at `path`."""
    header, body = read_header(path, path.read_bytes())
    written = header.get("bytes")
    if len(body) != written:
        what = "truncated" if isinstance(written, int) and len(body) < written else "not as long as written"
        raise CheckpointError(path, f"it is {what} ({len(body)} bytes after the header, {written} were written)")
    if hashlib.sha256(body).hexdigest() != header.get("sha256"):
        raise CheckpointError(path, "its checksum does not match its contents (the file was damaged after it was written)")
    if header.get("run") != fingerprint:
        raise CheckpointError(path, f"it belongs to another run (fingerprint {header.get('run')}, this run's is "
                                    f"{fingerprint}: other model, data, optimizer, seed or precision)")
    try:
        return torch.load(io.BytesIO(body), map_location="cpu", weights_only=True)
    except Exception as err:  # the unpickler fails with many exception types on bytes it cannot read
        raise CheckpointError(path, f"its checksum holds but torch cannot read it ({type(err).__name__}: {err}); "
                                    "a callback's state must hold only tensors, numbers, strings, lists and dicts") from err


def device_rng_state(device: torch.device) -> torch.Tensor | None:
    """The state of the global RNG of an accelerator `device` (None on the CPU, whose RNG is saved apart)."""
    return None if device.type == "cpu" else torch.get_device_module(device.type).get_rng_state(device)


class Checkpoint:
    """Everything needed to resume run `fingerprint`, saved to `path` after every epoch and restored on a rerun."""

    def __init__(self, path: str | Path, fingerprint: str) -> None:
        self.path, self.fingerprint = Path(path), fingerprint
        if self.path.is_dir():
            raise ValueError(f"checkpoint path {self.path} is a folder; give a file path")

    def restore(self, state: TrainState, callbacks: Sequence[Callback]) -> bool:
        """Load the saved model, optimizer, scheduler, scaler, history, RNG and `callbacks` state; False if none."""
        if not self.path.exists():
            return False
        saved = read_checkpoint(self.path, self.fingerprint)
        stateful = [callback for callback in callbacks if callback.state_dict()]
        names, saved_names = [type(c).__name__ for c in stateful], [name for name, _ in saved["callbacks"]]
        if names != saved_names:
            raise CheckpointError(self.path, f"it holds the state of the callbacks {saved_names} and this run "
                                             f"has {names}")
        state.net.load_state_dict(saved["net"])
        state.optimizer.load_state_dict(saved["optimizer"])
        if state.scheduler is not None and saved["scheduler"] is not None:
            state.scheduler.load_state_dict(saved["scheduler"])
        state.precision.load_state_dict(saved["scaler"])
        state.history = History(**saved["history"])
        state.epoch, state.stop, state.stop_reason = saved["epoch"], saved["stop"], saved["stop_reason"]
        state.generator.set_state(saved["generator"])
        torch.set_rng_state(saved["torch_rng"])
        if saved["device_rng"] is not None:
            torch.get_device_module(state.device.type).set_rng_state(saved["device_rng"], state.device)
        for callback, (_, callback_state) in zip(stateful, saved["callbacks"]):
            callback.load_state_dict(callback_state)
        return True

    def save(self, state: TrainState, callbacks: Sequence[Callback]) -> None:
        """Write the state of the run and of `callbacks` after the current epoch."""
        write_checkpoint(self.path, {
            "net": state.net.state_dict(), "optimizer": state.optimizer.state_dict(),
            "scheduler": state.scheduler.state_dict() if state.scheduler is not None else None,
            "scaler": state.precision.state_dict(), "history": state.history.as_dict(), "epoch": state.epoch,
            "stop": state.stop, "stop_reason": state.stop_reason, "generator": state.generator.get_state(),
            "torch_rng": torch.get_rng_state(), "device_rng": device_rng_state(state.device),
            "callbacks": [(type(c).__name__, c_state) for c in callbacks if (c_state := c.state_dict())],
        }, self.fingerprint)
