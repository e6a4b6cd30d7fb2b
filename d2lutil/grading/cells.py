"""A notebook's code cells read as Python: IPython magics neutralized, untouched check cells recognized."""
from __future__ import annotations

import ast
import re


def python_source(source: str) -> str:
    """A cell's source with IPython magics and shell escapes turned into `pass`, so `ast` can parse it."""
    return "\n".join(re.sub(r"^(\s*)[%!].*$", r"\1pass", line) for line in source.splitlines())


def check_call(source: str) -> tuple[str, str] | None:
    """(question id, answer name) if the cell is exactly `check("<id>", <name>)`, else None."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    if len(tree.body) != 1 or not isinstance(tree.body[0], ast.Expr):
        return None
    call = tree.body[0].value
    if (isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "check"
            and len(call.args) == 2 and not call.keywords and isinstance(call.args[0], ast.Constant)
            and isinstance(call.args[0].value, str) and isinstance(call.args[1], ast.Name)):
        return call.args[0].value, call.args[1].id
    return None
