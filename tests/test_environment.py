"""The runtime: choosing a device that exists, and seeding every generator from a valid seed."""
import random

import pytest
import torch

import d2lutil


@pytest.mark.parametrize("preference", ["tpu", "gpu", "CUDA", "", None, 0])
def test_an_unknown_device_is_refused_naming_the_allowed_ones(preference):
    with pytest.raises(ValueError, match=f"device={preference!r} is not allowed; choose one of 'auto', 'cpu', 'cuda', 'mps'"):
        d2lutil.choose_device(preference)


@pytest.mark.parametrize("preference", ["cuda", torch.device("cuda"), torch.device("cuda", 1)])
def test_cuda_without_a_gpu_is_refused_with_what_to_use(monkeypatch, preference):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match="no CUDA GPU is visible; use device='auto' or 'cpu'"):
        d2lutil.choose_device(preference)


def test_mps_where_it_is_missing_is_refused(monkeypatch):
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    with pytest.raises(ValueError, match="device='mps' was asked for but Apple MPS is not available"):
        d2lutil.choose_device("mps")


def test_available_devices_are_returned(monkeypatch):
    assert d2lutil.choose_device("cpu") == torch.device("cpu") == d2lutil.choose_device(torch.device("cpu"))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert d2lutil.choose_device("auto") == torch.device("cuda")
    assert d2lutil.choose_device(torch.device("cuda", 0)) == torch.device("cuda", 0)


def test_a_device_object_of_an_unknown_type_is_refused():
    with pytest.raises(ValueError, match="device type='meta' is not allowed; choose one of 'cpu', 'cuda', 'mps'"):
        d2lutil.choose_device(torch.device("meta"))


@pytest.mark.parametrize("seed", ["abc", 1.5, -1, 2**32, True, None, float("nan")])
def test_seed_everything_refuses_what_is_not_a_seed(seed):
    state = torch.get_rng_state()
    with pytest.raises(ValueError, match=r"seed=.* is not allowed; it must be an integer in \[0, 4294967295\]"):
        d2lutil.seed_everything(seed)
    assert torch.equal(torch.get_rng_state(), state)  # refused before touching any generator


def test_seed_everything_makes_draws_repeat():
    d2lutil.seed_everything(3)
    first = (random.random(), torch.rand(2))
    d2lutil.seed_everything(3)
    again = (random.random(), torch.rand(2))
    assert first[0] == again[0] and torch.equal(first[1], again[1])
