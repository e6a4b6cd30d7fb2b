"""The grader's agent inside a student's kernel: it looks up answers and calls them for the grader.

The grader sends this file's source text into the kernel after the notebook has run and binds
an Agent to the notebook's namespace. Each request (a file written with torch.save) names an
operation on an answer or on an object an answer returned; the agent performs it and writes
the result back. Results that torch.load(weights_only=True) can read (tensors, numbers,
strings, containers of these) travel by value; anything else stays here under a handle.
Nothing in this kernel is trusted: the grader only reads values through the safe loader and
compares them with its own references in its own process.
"""
from __future__ import annotations

import io
from typing import Any

import torch

HANDLE = "__d2lutil_handle__"


class Agent:
    """Performs the grader's requests on the objects of one notebook namespace."""

    def __init__(self, namespace: dict[str, Any]) -> None:
        self.namespace, self.objects = namespace, {}

    def serve(self, request_path: str, response_path: str) -> None:
        """Perform the request saved at `request_path`; save the result or the exception to `response_path`."""
        try:
            request = torch.load(request_path, weights_only=False)
            response = {"value": self.encode(self.perform(**request))}
        except Exception as err:  # the student's code may raise anything; the grader explains it
            response = {"raised": type(err).__name__, "message": str(err)[:500]}
        torch.save(response, response_path)

    def perform(self, op: str, target: Any = None, name: str = "", args: tuple = (), kwargs: dict | None = None,
                value: Any = None) -> Any:
        """One operation: lookup, call, getattr, setattr, getitem or len."""
        if op == "lookup":
            if name not in self.namespace:
                raise NameError(f"name {name!r} is not defined")
            return self.namespace[name]
        obj = self.resolve(target)
        if op == "call":
            return obj(*self.resolve(args), **self.resolve(kwargs or {}))
        if op == "getattr":
            return getattr(obj, name)
        if op == "setattr":
            return setattr(obj, name, self.resolve(value))
        if op == "getitem":
            return obj[self.resolve(value)]
        if op == "len":
            return len(obj)
        raise ValueError(f"unknown operation {op!r}")

    def resolve(self, value: Any) -> Any:
        """Replace handle markers in (nested) arguments by the objects they stand for."""
        if isinstance(value, dict):
            if set(value) == {HANDLE}:
                return self.objects[value[HANDLE]]
            return {key: self.resolve(item) for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return type(value)(self.resolve(item) for item in value)
        return value

    def encode(self, value: Any) -> Any:
        """The value itself if the grader's safe loader can read it, else a handle to it kept here."""
        value = to_torch(value)
        try:
            buffer = io.BytesIO()
            torch.save(value, buffer)
            buffer.seek(0)
            torch.load(buffer, weights_only=True)
            return value
        except Exception:  # not readable by value: keep it here and send a handle
            handle = len(self.objects)
            self.objects[handle] = value
            return {HANDLE: handle, "type": type(value).__name__, "callable": callable(value)}


def to_torch(value: Any) -> Any:
    """NumPy arrays and scalars (possibly nested in lists, tuples, dicts) as tensors and Python numbers."""
    kind = type(value).__module__
    if kind == "numpy":
        return value.item() if getattr(value, "ndim", 1) == 0 else torch.as_tensor(value)
    if isinstance(value, dict) and type(value) is dict:
        return {key: to_torch(item) for key, item in value.items()}
    if type(value) in (list, tuple):
        return type(value)(to_torch(item) for item in value)
    return value
