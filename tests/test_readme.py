"""The README's tables are the documentation people use: they must match what tracker does, in
both directions (a setting, command or route added without its row, or a row left behind)."""

from __future__ import annotations

import re
from pathlib import Path

import click

from tracker import config

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
TRACKER = Path(__file__).resolve().parent.parent / "tracker"


def section(title: str) -> str:
    start = README.index(f"\n## {title}")
    end = README.find("\n## ", start + 1)
    return README[start : end if end != -1 else None]


def first_cells(text: str) -> list[str]:
    """The first cell of every table row ("| `X` | ..." -> "`X`")."""
    return [line.split("|")[1].strip() for line in text.splitlines() if line.startswith("| `")]


def test_every_setting_read_from_the_environment_is_in_the_configuration_table():
    documented = {
        name
        for cell in first_cells(section("Configuration"))
        for name in re.findall(r"`(\w+)`", cell)
    }
    sources = [config.__file__, *sorted((TRACKER / "ops").glob("*.py"))]
    read = {
        name
        for source in sources
        for name in re.findall(
            r"""env(?:iron)?(?:\.get\(|\[)["'](\w+)["']""", Path(source).read_text()
        )
    }
    assert read, "found no setting read from the environment"
    assert read <= documented, f"undocumented settings: {read - documented}"
    assert documented <= read, f"documented but never read: {documented - read}"


def _commands(group: click.Group, prefix: str = "") -> set[str]:
    found = set()
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found |= _commands(command, f"{prefix}{name} ")
        else:
            found.add(f"{prefix}{name}")
    return found


def test_every_command_is_in_the_command_table(app):
    ours = {
        name
        for name, command in app.cli.commands.items()
        if command.callback is None or command.callback.__module__.startswith("tracker")
    }
    served = set()
    for name in ours:
        command = app.cli.commands[name]
        served |= _commands(command, f"{name} ") if isinstance(command, click.Group) else {name}
    rows = [cell.strip("`") for cell in first_cells(section("Command line"))]
    documented = {
        " ".join(w for w in row.split() if re.fullmatch(r"[a-z][a-z-]*", w)) for row in rows
    }
    assert served <= documented, f"undocumented commands: {served - documented}"
    assert documented <= served, f"documented but not served: {documented - served}"


def test_every_json_route_is_in_the_route_table_and_every_row_is_served(app):
    rows = first_cells(section("HTTP and Socket.IO interface"))
    documented = set()
    for cell in rows:
        for method, path in re.findall(r"`(GET|POST|PUT|DELETE) ([^`\[ ]+)", cell):
            if path.startswith("/api/") or path == "/healthz":
                documented.add((method, re.sub(r"<\w+>", "<>", path)))
    served = {
        (method, re.sub(r"<(?:\w+:)?\w+>", "<>", rule.rule))
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/") or rule.rule == "/healthz"
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert served <= documented, f"undocumented routes: {served - documented}"
    assert documented <= served, f"documented but not served: {documented - served}"
