"""Does an answer's code use the library function it is meant to re-implement?

The grader reads the submitted notebook's code (never running it for this) and follows the answer
``name``: the function (or lambda, or alias) defined under that name, and every function of the
notebook it calls. Every ``mlseg`` import in the notebook is resolved, whatever its style::

    import mlseg.metrics as m            m.dice(...)
    from mlseg.metrics import dice as d  d(...)
    from mlseg import metrics            getattr(metrics, "dice")(...)
    mlseg = importlib.import_module("mlseg.metrics")

so a reference to a forbidden dotted name (``"mlseg.metrics.dice"``) is found in any of these
forms. The check cells' runtime guard (:func:`mlseg.checks.call_answer`) catches calls that no
reading of the code can see (``eval``, names built from strings).
"""

from __future__ import annotations

import ast

__all__ = ["find_library_calls"]


def _parse(source):
    """Parse a code cell, dropping IPython's magics and shell escapes."""
    lines = []
    for line in str(source).splitlines():
        stripped = line.lstrip()
        lines.append("" if stripped.startswith(("%", "!")) else line)
    try:
        return ast.parse("\n".join(lines))
    except SyntaxError:
        return None


class _Notebook:
    """What the notebook's top level defines: imports, aliases and functions, by name."""

    def __init__(self, trees):
        self.aliases = {}  # name -> dotted path, e.g. "m" -> "mlseg.metrics"
        self.stars = []  # modules imported with *
        self.definitions = {}  # name -> FunctionDef / Lambda / expression (last one wins)
        for tree in trees:
            for node in tree.body:
                self._top_level(node)

    def _top_level(self, node):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            self.imports(node, self.aliases)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            self.definitions[node.name] = node
            self.aliases.pop(node.name, None)  # a def replaces an imported name
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    self.definitions[target.id] = node.value
                    path = self.resolve(node.value, self.aliases)
                    if path:
                        self.aliases[target.id] = path
                    else:
                        self.aliases.pop(target.id, None)
        elif isinstance(node, (ast.If, ast.Try, ast.With, ast.For)):
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.stmt):
                    self._top_level(child)

    def imports(self, node, aliases):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    aliases[alias.asname] = alias.name
                else:
                    top = alias.name.split(".")[0]
                    aliases[top] = top
        elif node.module and not node.level:
            for alias in node.names:
                if alias.name == "*":
                    self.stars.append(node.module)
                else:
                    aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"

    def resolve(self, node, aliases):
        """The dotted path an expression names, if it comes from an import; else ``None``."""
        if isinstance(node, ast.Name):
            return aliases.get(node.id)
        if isinstance(node, ast.Attribute):
            base = self.resolve(node.value, aliases)
            return f"{base}.{node.attr}" if base else None
        if isinstance(node, ast.Call):
            func = node.func
            text = node.args[0].value if node.args and isinstance(node.args[0], ast.Constant) \
                else None
            if isinstance(func, ast.Name) and func.id == "getattr" and len(node.args) >= 2:
                base = self.resolve(node.args[0], aliases)
                attr = node.args[1]
                if base and isinstance(attr, ast.Constant) and isinstance(attr.value, str):
                    return f"{base}.{attr.value}"
            path = self.resolve(func, aliases) if not isinstance(func, ast.Name) else None
            name = func.id if isinstance(func, ast.Name) else path
            if isinstance(text, str) and name in ("importlib.import_module", "import_module"):
                return text
            if isinstance(text, str) and name == "__import__":
                fromlist = any(k.arg == "fromlist" for k in node.keywords) or len(node.args) > 3
                return text if fromlist else text.split(".")[0]
        return None


def find_library_calls(sources, name, forbidden):
    """The forbidden dotted names that the answer ``name`` refers to, in the order found.

    Parameters
    ----------
    sources : iterable of str
        The notebook's code cells (the student's check cells left out).
    name : str
        The exercise's function, e.g. ``"dice"``.
    forbidden : iterable of str
        Dotted names of the library functions it must not use, e.g. ``["mlseg.metrics.dice"]``.

    Returns
    -------
    list of str

    Examples
    --------
    >>> cells = ["from mlseg import metrics as m", "def dice(a, b):\\n    return m.dice(a, b)"]
    >>> find_library_calls(cells, "dice", ["mlseg.metrics.dice"])
    ['mlseg.metrics.dice']
    >>> find_library_calls(["def dice(a, b):\\n    return 2.0"], "dice", ["mlseg.metrics.dice"])
    []
    """
    forbidden = set(forbidden)
    trees = [tree for tree in map(_parse, sources) if tree is not None]
    notebook = _Notebook(trees)
    found, seen, todo = [], set(), [name]
    if notebook.aliases.get(name) in forbidden:  # e.g. `from mlseg.metrics import dice`
        found.append(notebook.aliases[name])
    if notebook.stars:
        for path in forbidden:
            module, _, leaf = path.rpartition(".")
            if module in notebook.stars and leaf not in notebook.definitions:
                notebook.aliases.setdefault(leaf, path)
    while todo:
        current = todo.pop()
        if current in seen or current not in notebook.definitions:
            continue
        seen.add(current)
        definition = notebook.definitions[current]
        aliases = dict(notebook.aliases)
        for node in ast.walk(definition):  # local imports and aliases first
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                notebook.imports(node, aliases)
            elif isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(
                    node.targets[0], ast.Name):
                path = notebook.resolve(node.value, aliases)
                if path:
                    aliases[node.targets[0].id] = path
        for node in ast.walk(definition):
            if isinstance(node, (ast.Name, ast.Attribute, ast.Call)):
                path = notebook.resolve(node, aliases)
                if path in forbidden and path not in found:
                    found.append(path)
            if isinstance(node, ast.Name) and node.id in notebook.definitions:
                todo.append(node.id)
    return found
