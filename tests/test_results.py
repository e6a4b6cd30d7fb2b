"""Recording measured numbers: JSON conversion, atomic writes, and never losing an earlier record."""
import json

import numpy as np
import torch

import d2lutil
from d2lutil.results import to_jsonable


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
    assert len(list(tmp_path.iterdir())) == 1
    d2lutil.save_results({"acc": 0.2}, tmp_path, "chapter")
    d2lutil.save_results({"acc": 0.3}, tmp_path, "chapter")
    records = sorted(json.loads(p.read_text())["acc"] for p in tmp_path.glob("chapter*.json"))
    assert records == [0.1, 0.2, 0.3]
    assert d2lutil.load_results(tmp_path, "chapter") == {"acc": 0.3}
    assert not list(tmp_path.glob("*.tmp"))
