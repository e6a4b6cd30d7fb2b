"""The runtime: choosing the device once, seeding every generator, and reporting versions."""
from __future__ import annotations

import os
import platform
import random
import sys
from importlib import metadata

import numpy as np
import torch

from .validate import check_choice, check_seed

DEVICES = ("auto", "cpu", "cuda", "mps")


def choose_device(preference: str | torch.device = "auto") -> torch.device:
    """Return CUDA if present, then Apple MPS, then CPU; or the device `preference` names, if it is available."""
    if isinstance(preference, torch.device):
        check_choice("device type", preference.type, DEVICES[1:])
        return _available(preference, str(preference))
    check_choice("device", preference, DEVICES)
    if preference == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    return _available(torch.device(preference), preference)


def _available(device: torch.device, name: str) -> torch.device:
    """`device` if this machine has it, else a ValueError saying what to use instead."""
    present = {"cpu": True, "cuda": torch.cuda.is_available(), "mps": torch.backends.mps.is_available()}[device.type]
    if not present:
        what = "no CUDA GPU is visible" if device.type == "cuda" else "Apple MPS is not available"
        raise ValueError(f"device={name!r} was asked for but {what}; use device='auto' or 'cpu'")
    return device


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and PyTorch's global generators (CPU and every GPU)."""
    check_seed("seed", seed)
    os.environ["PYTHONHASHSEED"] = str(seed)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def in_colab() -> bool:
    """True when running inside Google Colab."""
    return "google.colab" in sys.modules


def versions(packages: tuple[str, ...] = ("torch", "torchvision", "numpy", "scikit-learn", "matplotlib",
                                          "ipywidgets", "d2lutil")) -> dict[str, str]:
    """Python's and each package's installed version ('not installed' where missing)."""
    found = {"python": platform.python_version()}
    for name in packages:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found
