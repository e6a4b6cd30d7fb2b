"""Mixed precision, resolved once: the autocast dtype of a mode on a device, and the gradient scaler float16 needs."""
from __future__ import annotations

import contextlib
from dataclasses import dataclass

import torch

from .validate import check_choice

AMP_MODES = ("auto", "bf16", "fp16")


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


@dataclass(frozen=True)
class Precision:
    """How one run computes: full precision, or autocast to `dtype` with a loss `scaler` for float16."""

    device_type: str = "cpu"
    dtype: torch.dtype | None = None
    scaler: torch.amp.GradScaler | None = None

    @classmethod
    def resolve(cls, amp: str | None, device: torch.device | str) -> Precision:
        """The precision of mode `amp` (None, 'auto', 'bf16' or 'fp16') on `device`; float16 gets a scaler."""
        device = torch.device(device)
        dtype = amp_dtype(amp, device)
        scaler = torch.amp.GradScaler(device.type) if dtype == torch.float16 else None
        return cls(device.type, dtype, scaler)

    def autocast(self) -> contextlib.AbstractContextManager:
        """Autocast to this dtype; a no-op in full precision."""
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device_type, dtype=self.dtype)

    def backward(self, loss: torch.Tensor, optimizer: torch.optim.Optimizer) -> None:
        """Backpropagate `loss`, scaled for float16 and unscaled again so gradients read true values."""
        if self.scaler is None:
            loss.backward()
            return
        self.scaler.scale(loss).backward()
        self.scaler.unscale_(optimizer)

    def step(self, optimizer: torch.optim.Optimizer) -> None:
        """Take the optimizer step (skipped by the scaler when float16 gradients overflowed)."""
        if self.scaler is None:
            optimizer.step()
            return
        self.scaler.step(optimizer)
        self.scaler.update()

    def state_dict(self) -> dict | None:
        """The scaler's state for a checkpoint (None without one)."""
        return self.scaler.state_dict() if self.scaler is not None else None

    def load_state_dict(self, state: dict | None) -> None:
        """Restore the scaler's state saved by `state_dict`."""
        if self.scaler is not None and state is not None:
            self.scaler.load_state_dict(state)
