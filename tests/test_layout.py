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


# The floors of gan_jax, top down; a module imports only modules of its own floor or below.
# Everything not named here is the bottom floor: models, losses, data, metrics, plots,
# parallel, checkpoint, train, sampling, evaluation (which scores what it is handed).
ORCHESTRATION = {"gan_jax.experiment", "gan_jax.runs"}
FAMILIES = {"gan_jax.gan", "gan_jax.gan_run", "gan_jax.vae", "gan_jax.autoencoder", "gan_jax.toy"}


def _graph() -> dict:
  """{module: the other gan_jax modules it imports}, without a submodule's edge to its own package."""
  modules = _modules()
  graph = {name: _imported(tree, modules) - {name} for name, tree in modules.items()}
  return {m: {t for t in targets if not m.startswith(t + ".")} for m, targets in graph.items()}


def _floor(module: str) -> int:
  return 2 if module in ORCHESTRATION else 1 if module in FAMILIES else 0


def test_import_graph_has_no_cycle():
  graph = _graph()
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


def test_modules_import_only_their_own_floor_or_below():
  graph = _graph()
  assert ORCHESTRATION | FAMILIES <= set(graph)  # the floors name real modules
  upward = [f"{m} -> {t}" for m, targets in graph.items() for t in targets if _floor(t) > _floor(m)]
  assert not upward, f"imports of a higher floor: {upward}"
  # The test can fail: the run modules do sit on the families, and the families on the scoring code.
  assert "gan_jax.gan_run" in graph["gan_jax.experiment"] and "gan_jax.evaluation" in graph["gan_jax.gan_run"]
  # The toy GANs take the GAN game, not the GAN training run (figures, scores).
  assert "gan_jax.gan" in graph["gan_jax.toy"] and "gan_jax.gan_run" not in graph["gan_jax.toy"]
  assert not graph["gan_jax.gan"] & {"gan_jax.evaluation", "gan_jax.plots", "gan_jax.metrics", "gan_jax.gan_run"}
