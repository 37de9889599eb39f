"""The house a newcomer walks: the README's house map names every module and only modules, and
the folders import only downward (import-linter's contracts in pyproject.toml); and the tests'
own clients do not cry wolf."""

from __future__ import annotations

import ast
import logging
import re
import tomllib
from pathlib import Path

from importlinter.cli import EXIT_STATUS_SUCCESS, lint_imports

ROOT = Path(__file__).resolve().parent.parent
TRACKER = ROOT / "tracker"
README = (ROOT / "README.md").read_text(encoding="utf-8")


def house_map() -> list[str]:
    """The first cells of the house map's table: module paths relative to tracker/."""
    start = README.index("\n### House map")
    end = README.index("\n### ", start + 1)
    return re.findall(r"^\| `([^`]+)` \|", README[start:end], flags=re.MULTILINE)


def modules() -> set[str]:
    """Every module of the package, relative to tracker/: a folder's `__init__.py` only when it
    holds more than its docstring; a folder of numbered migrations is one."""
    found = set()
    for path in TRACKER.rglob("*.py"):
        relative = path.relative_to(TRACKER).as_posix()
        if relative.startswith("store/migrations/"):
            found.add("store/migrations/")
        elif path.name != "__init__.py" or len(ast.parse(path.read_text()).body) > 1:
            found.add(relative)
    return found


def test_every_module_has_a_row_in_the_house_map_and_every_row_names_one():
    rows = house_map()
    assert len(rows) == len(set(rows)), "a module has two rows"
    assert set(rows) - modules() == set(), "rows that name no module"
    assert modules() - set(rows) == set(), "modules without a row in the README's house map"


def test_every_folder_of_the_package_is_on_a_floor_of_the_layer_contract():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    layers = next(c for c in config["contracts"] if c["type"] == "layers")["layers"]
    placed = {name.strip() for layer in layers for name in layer.split("|")}
    folders = {f"tracker.{p.parent.name}" for p in TRACKER.glob("*/__init__.py")}
    assert folders - placed == set(), "a folder that no layer places"


def test_folders_import_only_downward_and_the_domain_never_imports_flask(monkeypatch):
    monkeypatch.chdir(ROOT)
    # import-linter configures logging as a command does, which disables every logger that
    # exists already (logging.config's default): give the later tests theirs back.
    loggers = [
        lg for lg in logging.Logger.manager.loggerDict.values() if isinstance(lg, logging.Logger)
    ]
    enabled = [lg for lg in loggers if not lg.disabled]
    try:
        status = lint_imports(
            config_filename=str(ROOT / "pyproject.toml"), no_cache=True, no_logo=True
        )
    finally:
        for logger in enabled:
            logger.disabled = False
    assert status == EXIT_STATUS_SUCCESS, "import-linter found a broken contract (run lint-imports)"


def test_every_test_phone_stops_reusing_a_connection_before_the_server_closes_it():
    """A bare `requests.Session` reuses a kept-alive connection however long it has waited, and
    loses a request sent as the server closes it (tests/helpers.py, SERVER_KEEP_ALIVE): a test
    failing for that is the client's fault, not the product's. Tests use `phone_session()`."""
    bare = []
    for path in sorted((ROOT / "tests").glob("*.py")):
        if path.name == "helpers.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "Session"
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "requests"
            ):
                bare.append(f"{path.name}:{node.lineno}")
    assert bare == [], "use phone_session() from tests/helpers.py"
