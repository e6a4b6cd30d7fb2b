"""Signs of tampering in a submission's code, found by reading it: each costs the questions checked after it.

The grader never trusts the notebook's kernel, so tampering cannot earn credit by itself; these
findings make the rule explicit. Flagged: rebinding `check`; assigning to, deleting from or
mutating anything reached from d2lutil (or replacing modules in sys.modules); reaching into
the grader's own code (d2lutil.grading's registry, question modules, or the grading agent).
"""
from __future__ import annotations

import ast
from dataclasses import dataclass

from .generate import python_source

CHECK_IMPORT = ("d2lutil.grading", "check")
MUTATORS = {"update", "clear", "pop", "popitem", "setdefault", "append", "extend", "insert", "remove",
            "__setitem__", "__delitem__", "__setattr__", "__delattr__"}
PATCHERS = {"setattr", "delattr", "patch", "object", "setitem", "delitem"}
GRADER_INTERNALS = ("grading.registry", "grading.questions", "grading.check.", "grading.remote",
                    "grading.kernel_agent", "grading.grader", "__d2lutil_grader__")


@dataclass(frozen=True)
class Tampering:
    """One finding: the notebook cell (0-based index) and line where it happens, and what it does."""

    cell: int
    line: int
    what: str


def is_d2lutil(module: str | None) -> bool:
    """True for 'd2lutil' and its submodules."""
    return module is not None and (module == "d2lutil" or module.startswith("d2lutil."))


def dotted(node: ast.AST) -> str:
    """'a.b.c' for a chain of attributes, subscripts and calls rooted at a name (else '')."""
    parts = []
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
        if isinstance(node, ast.Attribute):
            parts.append(node.attr)
        node = node.func if isinstance(node, ast.Call) else node.value
    return ".".join([node.id, *reversed(parts)]) if isinstance(node, ast.Name) else ""


def d2lutil_aliases(trees: list[ast.Module]) -> set[str]:
    """Names that stand for d2lutil or something inside it, across all cells."""
    aliases: set[str] = set()
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                aliases |= {alias.asname or alias.name.split(".")[0] for alias in node.names if is_d2lutil(alias.name)}
            elif isinstance(node, ast.ImportFrom) and is_d2lutil(node.module):
                aliases |= {alias.asname or alias.name for alias in node.names}
    for _ in range(3):  # follow `x = d2l.grading`, `y = x.registry`, `m = importlib.import_module("d2lutil")`
        for tree in trees:
            for node in ast.walk(tree):
                if isinstance(node, ast.Assign) and (names_d2lutil(node.value, aliases) or imports_d2lutil(node.value)):
                    aliases |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    return aliases


def names_d2lutil(node: ast.AST, aliases: set[str]) -> bool:
    """True for a name, attribute or item chain (no calls) rooted at a d2lutil alias."""
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        node = node.value
    return isinstance(node, ast.Name) and node.id in aliases


def imports_d2lutil(node: ast.AST) -> bool:
    """True for `importlib.import_module("d2lutil...")` or `__import__("d2lutil...")`."""
    return (isinstance(node, ast.Call) and dotted(node.func).rsplit(".", 1)[-1] in {"import_module", "__import__"}
            and bool(node.args) and isinstance(node.args[0], ast.Constant) and is_d2lutil(str(node.args[0].value)))


def rebinds_check(tree: ast.Module) -> list[ast.AST]:
    """Module-level statements that rebind the name `check` (other than the canonical import)."""
    found: list[ast.AST] = []

    def visit(node: ast.AST, in_function: bool, global_check: bool) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == "check" and not in_function:
                found.append(node)
            declares = any(isinstance(n, ast.Global) and "check" in n.names for n in ast.walk(node))
            for child in ast.iter_child_nodes(node):
                visit(child, True, declares)
            return
        binds = ((isinstance(node, ast.Name) and node.id == "check" and isinstance(node.ctx, (ast.Store, ast.Del)))
                 or (isinstance(node, ast.ClassDef) and node.name == "check")
                 or (isinstance(node, ast.Import) and any((a.asname or a.name) == "check" for a in node.names))
                 or (isinstance(node, ast.ImportFrom) and any((a.asname or a.name) == "check"
                                                               and (node.module, a.name, a.asname) != (*CHECK_IMPORT, None)
                                                               for a in node.names)))
        if binds and (not in_function or global_check):
            found.append(node)
        for child in ast.iter_child_nodes(node):
            visit(child, in_function, global_check)

    visit(tree, False, False)
    return found


def patches_d2lutil(tree: ast.Module, aliases: set[str]) -> list[tuple[ast.AST, str]]:
    """Statements that change d2lutil or sys.modules, with a plain-words description."""
    found = []
    rooted = lambda node: names_d2lutil(node, aliases)  # noqa: E731
    for node in ast.walk(tree):
        targets = (node.targets if isinstance(node, (ast.Assign, ast.Delete))
                   else [node.target] if isinstance(node, (ast.AugAssign, ast.AnnAssign)) else [])
        for target in targets:
            if isinstance(target, (ast.Attribute, ast.Subscript)) and (rooted(target) or dotted(target) == "sys.modules"):
                found.append((node, f"changes `{dotted(target)}`"))
        if isinstance(node, ast.Call):
            name = dotted(node.func)
            last = name.rsplit(".", 1)[-1]
            if last in MUTATORS and isinstance(node.func, ast.Attribute) and (
                    rooted(node.func.value) or dotted(node.func.value) == "sys.modules"):
                found.append((node, f"changes `{dotted(node.func.value)}` with .{last}()"))
            elif last in PATCHERS and node.args and (rooted(node.args[0]) or (
                    isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)
                    and is_d2lutil(node.args[0].value))):
                found.append((node, f"patches d2lutil with {name}()"))
    return found


def reaches_grader(tree: ast.Module) -> list[tuple[ast.AST, str]]:
    """Code that imports or names the grader's own internals (its reference answers, registry or agent)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and is_d2lutil(node.module):
            names = [f"{node.module}.{a.name}" for a in node.names if (node.module, a.name) != CHECK_IMPORT]
            texts = names
        elif isinstance(node, ast.Import):
            texts = [a.name for a in node.names]
        elif isinstance(node, ast.Attribute):
            texts = [dotted(node)]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            texts = [node.value]
        elif isinstance(node, ast.Name):
            texts = [node.id]
        else:
            continue
        hits = [text for text in texts if any(internal in text for internal in GRADER_INTERNALS)
                or text.endswith(("grading.QUESTIONS", "grading.load_questions", "grading.run_check"))]
        if hits:
            found.append((node, f"reaches into the grader's code (`{hits[0]}`)"))
    return found


def find_tampering(cells: list[str | None]) -> list[Tampering]:
    """Tampering findings for a notebook's cells (source of each code cell, None for other cells), in order."""
    trees: dict[int, ast.Module] = {}
    for index, source in enumerate(cells):
        if source is not None:
            try:
                trees[index] = ast.parse(python_source(source))
            except SyntaxError:
                continue  # a cell that does not parse cannot define anything either
    aliases = d2lutil_aliases(list(trees.values()))
    findings = []
    for index, tree in trees.items():
        hits = [(node, "redefines `check`") for node in rebinds_check(tree)]
        hits += patches_d2lutil(tree, aliases) + reaches_grader(tree)
        findings += [Tampering(index, getattr(node, "lineno", 1), what) for node, what in hits]
    return sorted(set(findings), key=lambda t: (t.cell, t.line, t.what))
