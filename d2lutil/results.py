"""Recording a notebook's measured numbers and files without ever losing an earlier record."""
from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from .locks import folder_lock

WRITE_LOCK = "d2lutil-write"  # the lock a folder's writers take in turn (see keep_file)


def to_jsonable(value: Any) -> Any:
    """Convert tensors, NumPy values, tuples and nested containers into JSON-ready Python values."""
    if hasattr(value, "tolist"):  # tensors and NumPy values
        return value.tolist()
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if hasattr(value, "as_dict"):
        return to_jsonable(value.as_dict())
    return value


def write_atomically(path: Path, data: str | bytes) -> None:
    """Write `data` to `path` through a temporary file, so a reader never sees half a file.

    If writing fails (a full disk), the temporary file is removed and `path` is left as it was.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(data.encode() if isinstance(data, str) else data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def archive_path(path: Path) -> Path:
    """A free name for keeping `path`: <stem>.<its modification time><suffix>, with -1, -2... if taken."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(path.stat().st_mtime))
    archived, counter = path.with_name(f"{path.stem}.{stamp}{path.suffix}"), 1
    while archived.exists():
        archived, counter = path.with_name(f"{path.stem}.{stamp}-{counter}{path.suffix}"), counter + 1
    return archived


def keep_file(path: str | Path, data: str | bytes) -> Path:
    """Write `data` to `path`; a different file already there is first kept under archive_path's name.

    Writers of one folder take its lock in turn, so concurrent processes lose nothing; the new data is
    written in full before the old file moves aside, so a failed write (a full disk) changes nothing.
    """
    path = Path(path)
    data = data.encode() if isinstance(data, str) else data
    with folder_lock(path.parent, WRITE_LOCK, wait=True):
        if path.exists() and path.read_bytes() == data:
            return path
        new = path.with_name(f".{path.name}.{os.getpid()}.new")
        write_atomically(new, data)
        if path.exists():
            os.replace(path, archive_path(path))
        os.replace(new, path)
    return path


def save_results(results: dict[str, Any], folder: str | Path, name: str) -> Path:
    """Write `results` to folder/name.json; an older, different file is first kept as name.<time>.json."""
    text = json.dumps(to_jsonable(results), indent=2, sort_keys=True) + "\n"
    return keep_file(Path(folder) / f"{name}.json", text)


def load_results(folder: str | Path, name: str) -> dict[str, Any]:
    """Read folder/name.json back into a dict."""
    return json.loads((Path(folder) / f"{name}.json").read_text())
