"""Checkpoints that prove their integrity: damaged, foreign or other runs' files are reported, never resumed."""
import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import types
from pathlib import Path

import pytest
import torch

import d2lutil
from d2lutil.checkpoints import CheckpointError, checkpoint_file, resolve_checkpoint_dir, write_checkpoint


@pytest.fixture(scope="module")
def small(digits):
    """A small digits subset so each training run takes a fraction of a second."""
    return digits.subset(200, 100, 100, seed=0)


def make(seed: int = 0) -> torch.nn.Module:
    """A fresh small MLP with the same initial weights for the same seed."""
    return d2lutil.make_model("mlp", (1, 8, 8), hidden=(16,), seed=seed)


def run(data, folder, num_epochs=2, seed=0, net=None, **kwargs) -> d2lutil.History:
    """Train the test's run with a checkpoint in `folder`."""
    return d2lutil.fit(net or make(), data, num_epochs, batch_size=50, seed=seed, checkpoint_dir=folder,
                       desc="run", progress=False, **kwargs)


def saved(folder: Path) -> Path:
    """The one checkpoint in `folder`."""
    (path,) = folder.glob("*.pt")
    return path


def truncate(raw: bytes) -> bytes:
    return raw[:len(raw) // 2]


def garbage(raw: bytes) -> bytes:
    return os.urandom(len(raw))


def flip_64_bytes_in_the_middle(raw: bytes) -> bytes:
    middle = len(raw) // 2
    return raw[:middle] + bytes(b ^ 0xFF for b in raw[middle:middle + 64]) + raw[middle + 64:]


def foreign(raw: bytes) -> bytes:
    """A plain torch checkpoint, as another program (or an older d2lutil) would write it."""
    buffer = io.BytesIO()
    torch.save({"net": make().state_dict(), "epoch": 2}, buffer)
    return buffer.getvalue()


def empty(raw: bytes) -> bytes:
    return b""


def checksummed_but_unreadable(raw: bytes) -> bytes:
    """A valid header and checksum around bytes torch cannot unpickle."""
    header, _, _ = raw.partition(b"\n")
    body = b"\x80\x04this is not a pickle"
    fields = json.loads(header) | {"sha256": hashlib.sha256(body).hexdigest(), "bytes": len(body)}
    return json.dumps(fields).encode() + b"\n" + body


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")  # torch's unpickler warns before failing on garbage
@pytest.mark.parametrize("damage, problem", [
    (truncate, "truncated"),
    (garbage, "not a d2lutil-checkpoint file"),
    (flip_64_bytes_in_the_middle, "checksum does not match"),
    (foreign, "not a d2lutil-checkpoint file"),
    (empty, "not a d2lutil-checkpoint file"),
    (checksummed_but_unreadable, "torch cannot read it"),
])
def test_a_damaged_checkpoint_is_reported_with_its_path_and_what_to_do(small, tmp_path, damage, problem):
    run(small, tmp_path)
    path = saved(tmp_path)
    damaged = damage(path.read_bytes())
    path.write_bytes(damaged)
    net = make()
    before = [p.clone() for p in net.parameters()]
    with pytest.raises(CheckpointError, match=problem) as caught:
        run(small, tmp_path, num_epochs=4, net=net)
    message = str(caught.value)
    assert str(path) in message and "Delete that file" in message and "resume=False" in message
    assert caught.value.path == path
    assert all(torch.equal(a, b) for a, b in zip(before, net.parameters()))  # nothing loaded, nothing trained
    assert path.read_bytes() == damaged  # the evidence is left for the user to inspect


def test_another_runs_checkpoint_under_this_runs_name_is_refused(small, tmp_path):
    run(small, tmp_path / "other", seed=1)
    run(small, tmp_path / "this", seed=0)
    saved(tmp_path / "this").write_bytes(saved(tmp_path / "other").read_bytes())
    with pytest.raises(CheckpointError, match="belongs to another run"):
        run(small, tmp_path / "this", num_epochs=3)


def test_a_checkpoint_with_other_callbacks_is_refused(small, tmp_path):
    run(small, tmp_path, callbacks=[d2lutil.EarlyStopping(patience=9)])
    with pytest.raises(CheckpointError, match=r"callbacks \['EarlyStopping'\] and this run has \['StopAtAccuracy'\]"):
        run(small, tmp_path, num_epochs=3, callbacks=[d2lutil.StopAtAccuracy(1.0)])


def test_resume_false_starts_fresh_and_writes_a_sound_checkpoint(small, tmp_path):
    fresh = run(small, tmp_path / "fresh", num_epochs=3)
    run(small, tmp_path)
    path = saved(tmp_path)
    path.write_bytes(garbage(path.read_bytes()))
    assert run(small, tmp_path, num_epochs=3, resume=False).as_dict() == fresh.as_dict()
    assert run(small, tmp_path, num_epochs=3).as_dict() == fresh.as_dict()  # resumed from the new file: done


def test_a_sound_checkpoint_resumes_and_continues_to_more_epochs(small, tmp_path):
    straight = run(small, tmp_path / "straight", num_epochs=4)
    run(small, tmp_path, num_epochs=2)
    torch.rand(3)  # other global RNG state, as in a new process
    assert run(small, tmp_path, num_epochs=4).as_dict() == straight.as_dict()


def test_a_crash_while_writing_keeps_the_previous_checkpoint(small, tmp_path, monkeypatch):
    run(small, tmp_path)
    path = saved(tmp_path)
    before = path.read_bytes()

    def crash(fd):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", crash)
    with pytest.raises(KeyboardInterrupt):
        run(small, tmp_path, num_epochs=3)
    assert path.read_bytes() == before and list(tmp_path.iterdir()) == [path]


def test_write_checkpoint_writes_a_header_with_the_checksum(tmp_path):
    path = tmp_path / "x.pt"
    write_checkpoint(path, {"w": torch.arange(3)}, "abc")
    header, _, body = path.read_bytes().partition(b"\n")
    fields = json.loads(header)
    assert fields["format"] == "d2lutil-checkpoint" and fields["run"] == "abc" and fields["bytes"] == len(body)
    assert fields["sha256"] == hashlib.sha256(body).hexdigest()


@pytest.fixture
def colab(tmp_path, monkeypatch) -> list[str]:
    """A stand-in for Colab whose Drive lives under tmp_path; returns the folders `drive.mount` was given."""
    mounted = []
    module = types.ModuleType("google.colab")
    module.drive = types.SimpleNamespace(mount=mounted.append)
    monkeypatch.setitem(sys.modules, "google", types.ModuleType("google"))
    monkeypatch.setitem(sys.modules, "google.colab", module)
    monkeypatch.setattr(d2lutil.checkpoints, "DRIVE_ROOT", tmp_path / "content" / "drive" / "MyDrive")
    return mounted


def test_drive_on_colab_mounts_drive_and_points_inside_it(colab, tmp_path):
    assert resolve_checkpoint_dir("drive:/course/ckpt/") == tmp_path / "content/drive/MyDrive/course/ckpt"
    assert colab == [str(tmp_path / "content/drive")]


def test_checkpoint_file_names_a_run_in_a_folder_or_on_drive(colab, tmp_path):
    assert checkpoint_file(tmp_path, "04_early_stopping seed=0") == tmp_path / "04_early_stopping-seed=0.pt"
    drive_file = checkpoint_file("drive:course", "04_early_stopping")
    assert drive_file == tmp_path / "content/drive/MyDrive/course/04_early_stopping.pt" and drive_file.parent.is_dir()


def test_fit_checkpoints_into_drive_on_colab(small, colab, tmp_path):
    run(small, "drive:course")
    assert len(list((tmp_path / "content/drive/MyDrive/course").glob("run-*.pt"))) == 1


class StartEpoch(d2lutil.Callback):
    """Records the epoch training starts from (after any checkpoint was restored)."""

    def on_train_begin(self, state: d2lutil.TrainState) -> None:
        self.epoch = state.epoch


CHILD = """
import sys, time
import torch
import d2lutil

torch.set_num_threads(int(sys.argv[2]))
data = d2lutil.load_dataset("digits").subset(200, 100, 100, seed=0)


class Announce(d2lutil.Callback):
    def on_before_step(self, state):
        if state.epoch == 2:  # inside the third epoch, after the second one was checkpointed
            print("in epoch 3", flush=True)
            time.sleep(60)


net = d2lutil.make_model("mlp", (1, 8, 8), hidden=(16,), seed=0)
d2lutil.fit(net, data, 4, batch_size=50, seed=0, checkpoint_dir=sys.argv[1], desc="run", progress=False,
            callbacks=[Announce()])
"""


def test_a_run_killed_mid_epoch_resumes_to_the_same_numbers(small, tmp_path):
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(tmp_path), str(torch.get_num_threads())],
                             stdout=subprocess.PIPE, text=True,
                             env=os.environ | {"PYTHONPATH": str(Path(d2lutil.__file__).parents[1])})
    try:
        assert child.stdout.readline() == "in epoch 3\n"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert child.returncode == -signal.SIGKILL
    start = StartEpoch()
    resumed = run(small, tmp_path, num_epochs=4, callbacks=[start])
    assert start.epoch == 2
    assert resumed.as_dict() == run(small, tmp_path / "straight", num_epochs=4).as_dict()
