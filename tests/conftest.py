"""Shared fixtures: the embedded digits dataset, loaded once per test session."""
import os

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")

import d2lutil  # noqa: E402


@pytest.fixture(scope="session")
def digits() -> d2lutil.Dataset:
    """The embedded digits dataset with its default split."""
    return d2lutil.load_dataset("digits")
