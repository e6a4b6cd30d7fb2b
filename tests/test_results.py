"""Recording measured numbers and figures: JSON conversion, atomic writes, never losing an earlier record."""
import json
import os
import subprocess
import sys
from pathlib import Path

import matplotlib
import numpy as np
import pytest
import torch

import d2lutil
from d2lutil.results import keep_file, to_jsonable

matplotlib.use("Agg")
ROOT = Path(__file__).resolve().parent.parent


def test_tensors_arrays_and_histories_become_json():
    history = d2lutil.History()
    history.append(train_loss=1, train_acc=0.5, val_loss=2, val_acc=0.25)
    value = to_jsonable({"t": torch.tensor([1.0, 2.0]), "a": np.float32(0.5), "h": history, 3: (1, 2)})
    assert json.loads(json.dumps(value)) == {"t": [1.0, 2.0], "a": 0.5, "3": [1, 2],
                                             "h": {"train_loss": [1.0], "train_acc": [0.5],
                                                   "val_loss": [2.0], "val_acc": [0.25]}}


def test_save_and_load_round_trip(tmp_path):
    path = d2lutil.save_results({"acc": 0.9}, tmp_path / "out", "chapter")
    assert path == tmp_path / "out" / "chapter.json"
    assert d2lutil.load_results(tmp_path / "out", "chapter") == {"acc": 0.9}


def test_a_different_earlier_record_is_kept_not_overwritten(tmp_path):
    d2lutil.save_results({"acc": 0.1}, tmp_path, "chapter")
    d2lutil.save_results({"acc": 0.1}, tmp_path, "chapter")  # identical: nothing to keep
    assert len(list(tmp_path.glob("*.json"))) == 1
    d2lutil.save_results({"acc": 0.2}, tmp_path, "chapter")
    d2lutil.save_results({"acc": 0.3}, tmp_path, "chapter")
    records = sorted(json.loads(p.read_text())["acc"] for p in tmp_path.glob("chapter*.json"))
    assert records == [0.1, 0.2, 0.3]
    assert d2lutil.load_results(tmp_path, "chapter") == {"acc": 0.3}
    assert not list(tmp_path.glob("*.tmp"))


def test_a_different_earlier_figure_is_kept_not_overwritten(tmp_path):
    import matplotlib.pyplot as plt

    def figure(y: float):
        fig, ax = plt.subplots()
        ax.plot([0, 1], [0, y])
        return fig

    first = d2lutil.save_figure(figure(1.0), tmp_path, "curve").read_bytes()
    d2lutil.save_figure(figure(1.0), tmp_path, "curve")  # the same picture: nothing to keep
    assert [p.name for p in tmp_path.glob("*.png")] == ["curve.png"]
    d2lutil.save_figure(figure(2.0), tmp_path, "curve")
    kept = [p for p in tmp_path.glob("curve.*.png")]
    assert len(kept) == 1 and kept[0].read_bytes() == first and (tmp_path / "curve.png").read_bytes() != first
    plt.close("all")


def test_keep_file_archives_with_a_time_stamp_and_a_counter(tmp_path):
    for text in ("a", "b", "c"):
        keep_file(tmp_path / "run.ipynb", text)
    names = sorted(p.name for p in tmp_path.glob("run*.ipynb"))
    assert len(names) == 3 and "run.ipynb" in names and any(name.endswith("-1.ipynb") for name in names)
    assert sorted(p.read_text() for p in tmp_path.glob("run*.ipynb")) == ["a", "b", "c"]


def test_two_processes_saving_into_one_folder_lose_nothing(tmp_path):
    writer = ("import sys; from d2lutil.results import save_results\n"
              "for i in range(50): save_results({'writer': sys.argv[1], 'i': i}, sys.argv[2], 'chapter')")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    writers = [subprocess.Popen([sys.executable, "-c", writer, name, str(tmp_path)], env=env, stderr=subprocess.PIPE,
                                text=True) for name in ("a", "b")]
    errors = [w.communicate()[1] for w in writers]
    assert [w.returncode for w in writers] == [0, 0], errors
    records = {(r["writer"], r["i"]) for r in (json.loads(p.read_text()) for p in tmp_path.glob("chapter*.json"))}
    assert records == {(name, i) for name in ("a", "b") for i in range(50)}
    assert len(list(tmp_path.glob("chapter*.json"))) == 100 and not list(tmp_path.glob(".*.tmp"))


def test_a_write_that_fails_changes_nothing(tmp_path, monkeypatch):
    keep_file(tmp_path / "chapter.json", "old")

    def full_disk(self, data):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", full_disk)
    with pytest.raises(OSError, match="No space left on device"):
        keep_file(tmp_path / "chapter.json", "new")
    monkeypatch.undo()
    assert [p.name for p in tmp_path.iterdir() if not p.name.startswith(".d2lutil")] == ["chapter.json"]
    assert (tmp_path / "chapter.json").read_text() == "old"
