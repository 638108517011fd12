"""The layout the README promises: each folder listed with its docstring, every module's public
names declared, and the client library usable without the toolkit loaded."""

from __future__ import annotations

import importlib
import json
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("toolkit", "chaos", "bench")


def _summary(text: str) -> str:
    """A docstring's first line or a table cell, compared loosely: no markup, case or period."""
    plain = text.replace("``", "").replace("`", "").strip().rstrip(".")
    return plain[:1].lower() + plain[1:]


def _layout_table() -> dict[str, str]:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Layout") :]
    return dict(re.findall(r"^\| `([\w/]+/)` \| (.+?) \|$", section, re.MULTILINE))


def test_the_readme_layout_lists_every_folder_with_its_docstring():
    table = _layout_table()
    folders = sorted(
        f"{path.parent.relative_to(ROOT)}/"
        for package in PACKAGES
        for path in (ROOT / package).rglob("__init__.py")
    )
    assert sorted(table) == folders
    for folder in folders:
        module = importlib.import_module(folder.rstrip("/").replace("/", "."))
        summary = _summary((module.__doc__ or "").strip().splitlines()[0])
        assert _summary(table[folder]).startswith(summary), folder


def test_every_chaos_module_declares_its_public_names():
    for info in pkgutil.walk_packages(importlib.import_module("chaos").__path__, "chaos."):
        if info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        assert isinstance(getattr(module, "__all__", None), list), info.name
        missing = [name for name in module.__all__ if not hasattr(module, name)]
        assert not missing, (info.name, missing)


def test_the_client_library_runs_without_the_toolkit():
    probe = (
        "import sys, chaos, chaos.faults, chaos.engine, chaos.cli, chaos.verify; "
        "from chaos.cli import build_parser; build_parser(); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'toolkit'))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


# What loading the pytest plugin (in every pytest process of a user who installed us) and the
# command line's light commands must not import, each a tenth of a second or more per process:
# what the fixtures, `chaos verify` and `chaos hunt` need, imported when they run.
_PLUGIN_LEAVES = ("hypothesis", "faker", "trio", "toolkit", "chaos.faults", "chaos.verify")
_COMMANDS_LEAVE = ("hypothesis", "faker", "toolkit", "chaos.hunt", "chaos.verify")
_LIGHT_COMMANDS = (["--help"], ["flood", "--help"], ["run", "--help"], ["merge", "--help"])


def test_the_plugin_and_the_light_commands_import_only_what_they_use():
    probe = f"""
import contextlib, io, json, sys
def loaded(names):
    return sorted(m for m in sys.modules for n in names if m == n or m.startswith(n + "."))
import chaos.pytest_plugin
found = {{"plugin": loaded({_PLUGIN_LEAVES!r})}}
from chaos.cli import main
for argv in {_LIGHT_COMMANDS!r}:
    with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):
        main(argv)
found["commands"] = loaded({_COMMANDS_LEAVE!r})
print(json.dumps(found))
"""
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"plugin": [], "commands": []}
