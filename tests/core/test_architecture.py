"""The shape of the code: layers without Ray where promised, no import cycles, small modules.

Imports are read from the source (ast), counting every import: inside functions, under
`if TYPE_CHECKING:`, and `importlib.import_module("literal")` calls, so a cycle cannot hide
behind a lazy import.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

from tests.support import fresh_python

import cosmos_curate

SRC = Path(cosmos_curate.__file__).parent
PACKAGE = "cosmos_curate"
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60

# `run_pipeline` is the public entry point of the runtime but lives, by the published API,
# in core/interfaces: it is the one module that sits above core.runtime (it starts it).
# In the package graph it is its own node; nothing in the runtime may import it.
ENTRY_POINTS = {"cosmos_curate.core.interfaces.pipeline_interface"}

RAY_FREE = [
    "cosmos_curate.core.interfaces",
    "cosmos_curate.core.interfaces.errors",
    "cosmos_curate.core.interfaces.model_interface",
    "cosmos_curate.core.interfaces.pipeline_interface",
    "cosmos_curate.core.interfaces.results",
    "cosmos_curate.core.interfaces.stage_interface",
    "cosmos_curate.core.runtime.bundling",
    "cosmos_curate.core.runtime.byte_budget",
    "cosmos_curate.core.runtime.flow",
    "cosmos_curate.core.runtime.metric_table",
    "cosmos_curate.core.runtime.planner",
    "cosmos_curate.core.runtime.run_options",
    "cosmos_curate.core.runtime.run_state",
    "cosmos_curate.core.runtime.saved_stage",
    "cosmos_curate.core.runtime.stage_env",
    "cosmos_curate.core.runtime.stage_spec",
    "cosmos_curate.core.runtime.task_diff",
]


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(SRC.rglob("*.py"))}


def _imported_names(
    tree: ast.AST, module: str, is_package: bool, modules: dict[str, Path]
) -> Iterator[str]:
    """Every dotted name the module imports, anywhere in its body."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".")
                anchor = anchor if is_package else anchor[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            # `from pkg import submodule` imports the submodule; `from mod import name`, mod.
            for alias in node.names:
                yield f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            yield node.args[0].value


def _import_graph() -> dict[str, set[str]]:
    """Module -> the project modules it imports (a `from pkg import name` counts for pkg)."""
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        targets = set()
        for imported in _imported_names(tree, name, path.name == "__init__.py", modules):
            if imported.startswith(PACKAGE) and imported in modules and imported != name:
                targets.add(imported)
        graph[name] = targets
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for root, children_of_root in graph.items():
        if root in index:
            continue
        work = [(root, iter(sorted(children_of_root)))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    top = stack.pop()
                    on_stack.discard(top)
                    component.append(top)
                    if top == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def _layer(module: str) -> str:
    """The package a module belongs to: `core.<sub>` inside core, else the top-level one."""
    if module in ENTRY_POINTS:
        return module.removeprefix(f"{PACKAGE}.")
    parts = module.split(".")[1:]
    if not parts:
        return PACKAGE
    if parts[0] == "core" and len(parts) > 1:
        return ".".join(parts[:2])
    return parts[0]


def test_interfaces_and_planning_modules_load_without_ray_or_psutil() -> None:
    """Stage definitions, the public records and the planning logic need no Ray to import."""
    code = (
        "import importlib, sys\n"
        f"for name in {RAY_FREE!r}:\n"
        "    importlib.import_module(name)\n"
        "print(sorted(m for m in ('ray', 'psutil') if m in sys.modules))\n"
    )
    result = fresh_python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_no_import_cycle_between_modules() -> None:
    """No module reaches itself through its imports (lazy ones included)."""
    assert _cycles(_import_graph()) == []


def test_no_import_cycle_between_packages() -> None:
    """Dependencies between packages point one way (interfaces <- runtime <- pipelines <- cli)."""
    modules = _import_graph()
    layers: dict[str, set[str]] = {}
    edges: dict[str, set[str]] = {}
    for module, targets in modules.items():
        source = _layer(module)
        layers.setdefault(source, set())
        for target in targets:
            if _layer(target) != source:
                layers[source].add(_layer(target))
                edges.setdefault(f"{source} -> {_layer(target)}", set()).add(
                    f"{module} -> {target}"
                )
    cycles = _cycles(layers)
    detail = {
        edge: sorted(found)
        for edge, found in edges.items()
        if any(edge.split(" -> ")[0] in c and edge.split(" -> ")[1] in c for c in cycles)
    }
    assert cycles == [], detail


def test_runtime_never_imports_the_cli_or_the_entry_point() -> None:
    """The runtime is a library: it never reaches up into `cli/` or `run_pipeline`'s module."""
    offenders = [
        f"{module} -> {target}"
        for module, targets in _import_graph().items()
        if module.startswith(f"{PACKAGE}.core.runtime")
        for target in targets
        if target.startswith(f"{PACKAGE}.cli") or target in ENTRY_POINTS
    ]
    assert offenders == []


# Packages that are a user-facing feature (a command group and what only it needs). The
# library's core sits below all of them: `cluster` is `curate cluster`, whose Ray plumbing
# (address, auth, bind, ports, code shipping) the runtime takes from `core.ray_cluster`.
FEATURE_PACKAGES = ("cli", "cluster", "image", "launch", "pipelines", "view")


def test_core_imports_no_feature_package() -> None:
    """`core/` (the runtime and its plumbing) is a library under every feature: none of its
    modules imports `cli`, `cluster`, `image`, `launch`, `pipelines` or `view`."""
    features = tuple(f"{PACKAGE}.{name}" for name in FEATURE_PACKAGES)
    offenders = [
        f"{module} -> {target}"
        for module, targets in _import_graph().items()
        if module.startswith(f"{PACKAGE}.core.")
        for target in sorted(targets)
        if target in features or target.startswith(tuple(f"{f}." for f in features))
    ]
    assert offenders == []


STORAGE_CLIENTS = ("boto3", "botocore", "s3fs", "aiobotocore", "adlfs", "gcsfs", "fsspec")


def test_only_core_storage_makes_storage_clients() -> None:
    """Every S3/Azure/GCS client comes from `core.storage` (one URL parser, one client maker,
    one place for profiles and endpoints): no other module imports a storage client library."""
    modules = _modules()
    offenders = []
    for name, path in modules.items():
        if name.startswith(f"{PACKAGE}.core.storage"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for imported in _imported_names(tree, name, path.name == "__init__.py", modules):
            if imported.split(".")[0] in STORAGE_CLIENTS:
                offenders.append(f"{name} imports {imported}")
    assert sorted(set(offenders)) == []


def test_only_settings_reads_curate_variables() -> None:
    """`CURATE_*` variables are read in `core.utils.settings` only (one name, one default, one
    docstring each); other modules call its functions. Setting them for a child is fine.
    A read through a constant (`os.environ.get(SOME_VAR)`, `SOME_VAR = "CURATE_..."` or
    `settings.SOME_VAR`) counts as a read."""
    reads = re.compile(r"""(?:environ\.get|getenv|environ\[)\(?\s*["']CURATE_""")
    modules = {name: path.read_text("utf-8") for name, path in _modules().items()}
    constants = {name for text in modules.values() for name in _curate_constants(ast.parse(text))}
    offenders = [
        name
        for name, text in modules.items()
        if name != f"{PACKAGE}.core.utils.settings"
        and (reads.search(text) or _reads_through(ast.parse(text), constants))
    ]
    assert offenders == []


def _curate_constants(tree: ast.AST) -> set[str]:
    """Names bound to a `"CURATE_..."` string, or to another module's such name."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            value = node.value
            is_name = isinstance(value, ast.Constant) and str(value.value).startswith("CURATE_")
            is_alias = isinstance(value, ast.Attribute) and value.attr.endswith("_VAR")
            if is_name or is_alias:
                found |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    return found


def _reads_through(tree: ast.AST, constants: set[str]) -> bool:
    """Whether the module reads the environment with one of `constants` as the key."""
    def named(key: ast.expr) -> bool:
        return (isinstance(key, ast.Name) and key.id in constants) or (
            isinstance(key, ast.Attribute) and key.attr in constants
        )

    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args:
            environ = ast.unparse(node.func.value)
            if node.func.attr in {"get", "pop", "getenv"} and named(node.args[0]) and (
                "environ" in environ or environ == "os"
            ):
                return True
        if (
            isinstance(node, ast.Subscript)
            and isinstance(node.ctx, ast.Load)
            and "environ" in ast.unparse(node.value)
            and named(node.slice)
        ):
            return True
    return False


# `presentation.format.first_line` is the one way to take an error's first line (it strips,
# skips leading blanks and names an exception with no message); a hand-written `[0]` of the
# lines fails on an empty message.
FIRST_LINE_BY_HAND = re.compile(
    r"""splitlines\(\)\[0\]|split\(\s*["']\\n["']\s*(?:,\s*1\s*)?\)\[0\]|partition\(\s*["']\\n["']\s*\)\[0\]"""
)


def test_one_first_line_helper() -> None:
    """An error's first line is taken by `presentation.format.first_line` only."""
    offenders = [
        f"{name}:{number}"
        for name, path in _modules().items()
        if name != f"{PACKAGE}.presentation.format"
        for number, line in enumerate(path.read_text("utf-8").splitlines(), 1)
        if FIRST_LINE_BY_HAND.search(line)
    ]
    assert offenders == []


# What a CLI module may not do itself: make, move, sync or delete files and folders, mint ids
# or pick the runs folder. A command parses, calls the library (`core.runs` for the run
# folder, log, summary and retention; `core.storage` for files), and prints.
CLI_FORBIDDEN_CALLS = frozenset({
    "fsync", "mkdir", "mkdtemp", "mkstemp", "rename", "rmdir", "rmtree", "runs_root",
    "token_hex", "unlink", "uuid4", "write_bytes", "write_text",
})
CLI_FORBIDDEN_IMPORTS = frozenset({"shutil", "tempfile", "uuid"})


def _cli_run_or_storage_logic(tree: ast.AST) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else [
                alias.name for alias in node.names
            ]
            found += [f"imports {n}" for n in names if n.split(".")[0] in CLI_FORBIDDEN_IMPORTS]
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            is_os = isinstance(func, ast.Attribute) and getattr(func.value, "id", "") == "os"
            if name in CLI_FORBIDDEN_CALLS or (is_os and name in {"replace", "remove"}):
                found.append(f"calls {name}() at line {node.lineno}")
            elif name == "open" and any(
                isinstance(arg, ast.Constant) and isinstance(arg.value, str)
                and set(arg.value) & set("wax")
                for arg in [*node.args[1:], *(k.value for k in node.keywords if k.arg == "mode")]
            ):
                found.append(f"opens a file to write at line {node.lineno}")
    return found


def test_cli_modules_hold_no_run_or_storage_logic() -> None:
    """`cli/` modules write, move and delete no files, mint no run ids and never pick the runs
    folder: the run's records come from `core.runs`, files from `core.storage`."""
    offenders = {
        name: found
        for name, path in _modules().items()
        if name.startswith(f"{PACKAGE}.cli.")
        and (found := _cli_run_or_storage_logic(ast.parse(path.read_text("utf-8"))))
    }
    assert offenders == {}


def test_no_module_over_the_size_limit() -> None:
    """Every module of src/ stays under ~400 lines (a sign to split by responsibility)."""
    big = {
        name: n
        for name, path in _modules().items()
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert big == {}


def test_no_long_function_in_core() -> None:
    """Functions in core/ stay under ~60 lines, so each reads on one screen."""
    long: dict[str, int] = {}
    for name, path in _modules().items():
        if not name.startswith(f"{PACKAGE}.core"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    long[f"{name}.{node.name}"] = length
    assert long == {}


def test_no_long_function_body_anywhere() -> None:
    """Every function's body stays under ~60 lines across src/.

    Signatures do not count: a command's Typer options are a table, one option per entry.
    """
    long: dict[str, int] = {}
    for name, path in _modules().items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                first = node.body[0]
                docstring = isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
                start = node.body[1] if docstring and len(node.body) > 1 else first
                length = (node.end_lineno or node.lineno) - start.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    long[f"{name}.{node.name}"] = length
    assert long == {}
