"""The layout of gan_jax: its import graph is a tree of floors, with no cycle and no import hidden in a function."""

import ast
import pathlib

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "gan_jax"


def _modules() -> dict:
  """{dotted module name: parsed AST} of every module of gan_jax."""
  modules = {}
  for path in sorted(PACKAGE.rglob("*.py")):
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
    modules[name] = ast.parse(path.read_text(), str(path))
  return modules


def _imported(tree: ast.AST, modules: dict) -> set:
  """The gan_jax modules a module imports (`from gan_jax import data` names gan_jax.data)."""
  found = set()
  for node in ast.walk(tree):
    if isinstance(node, ast.Import):
      found |= {a.name for a in node.names if a.name in modules}
    elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("gan_jax"):
      for alias in node.names:
        target = f"{node.module}.{alias.name}"
        found.add(target if target in modules else node.module)
  return found


def test_no_import_inside_a_function_or_class():
  hidden = []
  for name, tree in _modules().items():
    for scope in ast.walk(tree):
      if isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
        hidden += [f"{name}:{node.lineno}" for node in ast.walk(scope) if isinstance(node, (ast.Import, ast.ImportFrom))]
  assert not hidden, f"imports inside functions or classes: {hidden}"


def test_import_graph_has_no_cycle():
  modules = _modules()
  graph = {name: _imported(tree, modules) - {name} for name, tree in modules.items()}
  # A package imports its submodules; a submodule importing its own package's __init__ is not a cycle
  # through another module, so only edges between distinct non-ancestor modules are followed.
  graph = {m: {t for t in targets if not m.startswith(t + ".")} for m, targets in graph.items()}
  state, cycles = {}, []

  def visit(module, path):
    state[module] = "open"
    for target in sorted(graph.get(module, ())):
      if state.get(target) == "open":
        cycles.append(" -> ".join(path[path.index(target):] + [target]))
      elif target not in state:
        visit(target, path + [target])
    state[module] = "done"

  for module in sorted(graph):
    if module not in state:
      visit(module, [module])
  assert not cycles, f"import cycles: {cycles}"
  # The test can fail: the graph is not empty, and the run modules do sit above the scoring code.
  assert "gan_jax.evaluation" in graph["gan_jax.gan"] and "gan_jax.gan" in graph["gan_jax.runs"]
  assert not graph["gan_jax.evaluation"] & {"gan_jax.gan", "gan_jax.vae", "gan_jax.experiment", "gan_jax.runs"}
