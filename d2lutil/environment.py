"""The runtime: choosing the device once, seeding every generator, and reporting versions."""
from __future__ import annotations

import os
import platform
import random
import sys
from importlib import metadata

import numpy as np
import torch

from .validate import check_choice

DEVICES = ("auto", "cpu", "cuda", "mps")


def choose_device(preference: str = "auto") -> torch.device:
    """Return CUDA if present, then Apple MPS, then CPU; or the device `preference` names."""
    check_choice("device", preference, DEVICES)
    if preference == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if preference == "cuda" and not torch.cuda.is_available():
        raise ValueError("device='cuda' was asked for but no CUDA GPU is visible; use device='auto' or 'cpu'")
    if preference == "mps" and not torch.backends.mps.is_available():
        raise ValueError("device='mps' was asked for but Apple MPS is not available; use device='auto' or 'cpu'")
    return torch.device(preference)


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and PyTorch's global generators (CPU and every GPU)."""
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
