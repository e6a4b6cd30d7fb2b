"""Recording a notebook's measured numbers to JSON without ever losing an earlier record."""
from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import torch


def to_jsonable(value: Any) -> Any:
    """Convert tensors, NumPy values, tuples and nested containers into JSON-ready Python values."""
    if isinstance(value, torch.Tensor):
        return value.tolist()
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if hasattr(value, "as_dict"):
        return to_jsonable(value.as_dict())
    return value


def write_atomically(path: Path, text: str) -> None:
    """Write `text` to `path` through a temporary file, so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def save_results(results: dict[str, Any], folder: str | Path, name: str) -> Path:
    """Write `results` to folder/name.json; an older, different file is first kept as name.<time>.json."""
    path = Path(folder) / f"{name}.json"
    text = json.dumps(to_jsonable(results), indent=2, sort_keys=True) + "\n"
    if path.exists() and path.read_text() != text:
        stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(path.stat().st_mtime))
        archived = path.with_name(f"{name}.{stamp}.json")
        counter = 1
        while archived.exists():
            archived, counter = path.with_name(f"{name}.{stamp}-{counter}.json"), counter + 1
        os.replace(path, archived)
    write_atomically(path, text)
    return path


def load_results(folder: str | Path, name: str) -> dict[str, Any]:
    """Read folder/name.json back into a dict."""
    return json.loads((Path(folder) / f"{name}.json").read_text())
