"""The layers, enforced: who may import whom among bot/, handlers/, storage/ and the sandbox.

The design (README, Architecture) has handlers/ (thin Telegram adapters) -> bot/ (the domain,
which knows nothing of Telegram) -> storage/ (every SQL statement). A rule written only in
prose erodes one convenient import at a time, so this test reads every module with ``ast``
(no import-linter: nothing to install, it runs in the ordinary pytest run) and fails naming
each import that crosses a layer the wrong way. The rules:

- only handlers/ and the Telegram wiring of bot/ (``WIRING``) import ``telegram``;
- the domain (the rest of bot/) imports neither handlers/ nor the wiring;
- handlers/ go through the domain: no ``storage`` import;
- storage/ imports neither bot/, handlers/ nor ``telegram``;
- the sandbox (sandbox/) imports nothing of the product, nor ``telegram``: it is the
  Telegram the bot talks to, so it must not agree with PTB by sharing its code;
- bot/cli.py takes only ``storage.db`` from storage/ (admins change through bot.people.roles,
  which writes the audit record);
- no module imports another's ``_private`` name: modules use each other through public
  functions (a ``module._name`` attribute access is not seen; none exists today). The
  sandbox is one capability, its modules share their private names.

Every ``import``/``from ... import`` counts, wherever it stands: at module level, inside a
function (the lazy imports that keep ``nfpbot --help`` fast), and under ``if TYPE_CHECKING:``.
A type-only import is counted like any other on purpose: an annotation naming a Telegram or
storage type is knowledge of that layer all the same (mypy checks it, a reader follows it),
and the few type-only imports that do cross a layer today cost nothing to keep honest. Only
imports built at run time from strings (``importlib``) escape a static reading; the product
has none.

The self-check at the end builds a small tree in ``tmp_path`` that breaks each rule once and
asserts each break is reported, so this test cannot pass by checking nothing.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "handlers", "storage", "sandbox")

# The Telegram wiring inside bot/: the modules that build, run and talk to PTB (or import
# those that do). Everything else in bot/ is the domain. The list is
# checked both ways: a module here must exist and really be wiring (import telegram,
# handlers or another wiring module), so it cannot quietly grow into an allow-list.
WIRING = frozenset(
    {
        "bot.__main__",  # `python -m bot`: runs bot.cli
        "bot.wiring.app",  # builds the PTB Application, registers handlers, schedules jobs
        "bot.cli",  # the entry point: runs the Application, maps InvalidToken to one line
        "bot.wiring.concurrency",  # PTB update processor and durable polling (the update inbox)
        "bot.wiring.context",  # the typed PTB CallbackContext handlers receive
        "bot.outbox.sender",  # the outbox sender: calls the Bot API
        "bot.wiring.request",  # PTB's HTTP transport: http11 for JSON calls, aiohttp for files
        "bot.wiring.ratelimit",  # the main bot's replies paced on the shared budget
        "bot.wiring.runner",  # runs an Application for tests, the demo and the benchmarks
        # `nfpbot demo`: the real Application on the embedded sandbox, and its simulated people
        "bot.demo.world",
        "bot.demo.scenes",
        "bot.demo.run",
    }
)
SANDBOX = "sandbox"
# What the product is made of; the sandbox (a Telegram of its own) may import none of it.
PRODUCT = ("bot", "handlers", "storage", "locales", "bench", "tests")
# From storage/, bot.cli (the composition root of the command line) needs only the database
# itself (open, migrate, close, classify a failure); admins and everything else go through
# the domain, which writes the audit record.
CLI_STORAGE = frozenset({"storage.db"})


@dataclass(frozen=True)
class Import:
    module: str  # the importing module, dotted
    target: str  # the imported module, dotted and absolute
    line: int
    type_only: bool  # under `if TYPE_CHECKING:`
    name: str | None = None  # `from target import name`, when name is not itself a module


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports_of(root: Path, path: Path) -> Iterator[Import]:
    """Every import in one file, resolved to absolute dotted names (relative ones too)."""
    module = module_name(root, path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))

    def visit(node: ast.AST, type_only: bool) -> Iterator[Import]:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.body:
                yield from visit(child, True)
            for child in node.orelse:
                yield from visit(child, type_only)
            return
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(module, alias.name, node.lineno, type_only)
            return
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
                prefix = ".".join(base)
                source = f"{prefix}.{node.module}" if node.module else prefix
            else:
                source = node.module or ""
            # `from bot.reporting import cycle` imports the module bot.reporting.cycle: report
            # the submodule when it is one, so rules about single modules (bot.wiring.app,
            # storage.db) see it
            for alias in node.names:
                sub = f"{source}.{alias.name}"
                is_module = (root / Path(*sub.split("."))).with_suffix(".py").exists() or (
                    root / Path(*sub.split(".")) / "__init__.py"
                ).exists()
                if is_module:
                    yield Import(module, sub, node.lineno, type_only)
                else:
                    yield Import(module, source, node.lineno, type_only, alias.name)
            return
        for inner in ast.iter_child_nodes(node):
            yield from visit(inner, type_only)

    yield from visit(tree, False)


def modules(root: Path, packages: tuple[str, ...] = PACKAGES) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            found[module_name(root, path)] = path
    return found


def within(name: str, *packages: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in packages)


def layer(module: str, wiring: frozenset[str]) -> str:
    if within(module, SANDBOX):
        return "sandbox"
    if module in wiring:
        return "wiring"
    return module.partition(".")[0] if not within(module, "bot") else "domain"


def violations(root: Path, wiring: frozenset[str] = WIRING) -> list[str]:
    """One line per import that breaks a rule, naming the file, line and the rule."""
    found: list[str] = []
    mods = modules(root)
    for module, path in mods.items():
        where = layer(module, wiring)
        for imp in imports_of(root, path):
            t = imp.target
            at = f"{path.relative_to(root)}:{imp.line} imports {t}" + (
                " (TYPE_CHECKING)" if imp.type_only else ""
            )
            if where == "sandbox":
                if within(t, *PRODUCT) and not within(t, SANDBOX):
                    found.append(f"{at}: the sandbox imports nothing of the product")
                if within(t, "telegram"):
                    found.append(f"{at}: the sandbox is Telegram, not a PTB client")
            elif where == "storage":
                if within(t, "bot", "handlers", "telegram"):
                    found.append(f"{at}: storage/ imports neither bot, handlers nor telegram")
            elif where == "handlers":
                if within(t, "storage"):
                    found.append(f"{at}: handlers/ go through the domain (bot/), not storage")
            elif where == "domain":
                if within(t, "telegram"):
                    found.append(f"{at}: only handlers/ and the wiring import telegram")
                if within(t, "handlers"):
                    found.append(f"{at}: the domain does not import handlers/")
                if t in wiring:
                    found.append(f"{at}: the domain does not import the Telegram wiring")
                if within(t, SANDBOX):
                    found.append(f"{at}: the domain does not import the sandbox (wiring may)")
            if module == "bot.cli" and within(t, "storage") and t not in CLI_STORAGE:
                found.append(f"{at}: the CLI changes people through the domain, not storage")
            name = imp.name or ""
            private = name.startswith("_") and not name.startswith("__")
            one_capability = within(module, SANDBOX) and within(t, SANDBOX)
            if private and within(t, *PACKAGES) and not one_capability:
                found.append(f"{at}.{name}: modules use each other through public names")
    for module in sorted(wiring):
        if module not in mods:
            found.append(f"WIRING lists {module}, which does not exist")
            continue
        targets = {i.target for i in imports_of(root, mods[module])}
        if not any(within(t, "telegram", "handlers") or t in wiring for t in targets):
            found.append(f"WIRING lists {module}, which imports no Telegram: it is domain")
    return found


def test_the_layers_hold() -> None:
    problems = violations(ROOT)
    assert not problems, "\n".join(problems)


def test_the_checker_reads_the_real_tree() -> None:
    """Not vacuous on the real code: it finds the modules and the imports the rules are about."""
    mods = modules(ROOT)
    assert {"bot.reporting.reports", "sandbox.server", "handlers.chats", "storage.db"} <= set(mods)
    targets = {i.target for m in mods.values() for i in imports_of(ROOT, m)}
    assert {"telegram", "storage.db", "bot.people.roles", "sandbox.errors"} <= targets
    lazy = [i for i in imports_of(ROOT, mods["bot.cli"]) if i.target == "bot.wiring.app"]
    assert lazy, "function-level imports are read"


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (
            {"bot/reporting/reports.py": "from telegram import Bot\n"},
            "bot/reporting/reports.py:1 imports telegram: only handlers/ and the wiring",
        ),
        (
            {"bot/reporting/schedule.py": "def f():\n    import telegram.ext\n"},
            "bot/reporting/schedule.py:2 imports telegram.ext: only handlers/",
        ),
        (
            {
                "bot/reporting/schedule.py": (
                    "from typing import TYPE_CHECKING\n"
                    "if TYPE_CHECKING:\n    from telegram.ext import Application\n"
                )
            },
            "bot/reporting/schedule.py:3 imports telegram.ext (TYPE_CHECKING): only handlers/",
        ),
        (
            {"bot/people/roles.py": "from handlers import chats\n", "handlers/chats.py": ""},
            "bot/people/roles.py:1 imports handlers.chats: the domain does not import handlers/",
        ),
        (
            {
                "bot/people/roles.py": "from bot.wiring import app\n",
                "bot/wiring/app.py": "import telegram\n",
            },
            "bot/people/roles.py:1 imports bot.wiring.app: the domain does not import the",
        ),
        (
            {"bot/reporting/reports.py": "from sandbox import Sandbox\n"},
            "bot/reporting/reports.py:1 imports sandbox: the domain does not import the sandbox",
        ),
        (
            {"storage/people.py": "from bot.config import Config\n"},
            "storage/people.py:1 imports bot.config: storage/ imports neither",
        ),
        (
            {"storage/db.py": "import handlers\n"},
            "storage/db.py:1 imports handlers: storage/ imports neither",
        ),
        (
            {"storage/db.py": "import telegram\n"},
            "storage/db.py:1 imports telegram: storage/ imports neither",
        ),
        (
            {"handlers/chats.py": "from storage import regions\n", "storage/regions.py": ""},
            "handlers/chats.py:1 imports storage.regions: handlers/ go through the domain",
        ),
        (
            {"handlers/errors.py": "def f():\n    from storage.db import write_failure\n"},
            "handlers/errors.py:2 imports storage.db: handlers/ go through the domain",
        ),
        (
            {"sandbox/server.py": "from bot.config import Config\n"},
            "sandbox/server.py:1 imports bot.config: the sandbox imports nothing",
        ),
        (
            {"sandbox/server.py": "from bot.people import roles\n", "bot/people/roles.py": ""},
            "sandbox/server.py:1 imports bot.people.roles: the sandbox imports nothing",
        ),
        (
            {"sandbox/store.py": "import storage.db\n"},
            "sandbox/store.py:1 imports storage.db: the sandbox imports nothing",
        ),
        (
            {"sandbox/store.py": "from telegram import Message\n"},
            "sandbox/store.py:1 imports telegram: the sandbox is Telegram",
        ),
        (
            {
                "bot/cli.py": "import telegram\ndef f():\n    from storage import people\n",
                "storage/people.py": "",
            },
            "bot/cli.py:3 imports storage.people: the CLI changes people through the domain",
        ),
        (
            {"bot/reporting/followups.py": "from bot.reporting.reports import _screen\n"},
            "bot/reporting/followups.py:1 imports bot.reporting.reports._screen: modules use",
        ),
        (
            {"bot/cli.py": "from bot import people\n", "bot/people/roles.py": ""},
            "WIRING lists bot.cli, which imports no Telegram: it is domain",
        ),
    ],
)
def test_each_broken_rule_is_reported(tmp_path: Path, files: dict[str, str], expected: str) -> None:
    _write(tmp_path, {"bot/__init__.py": "", "handlers/__init__.py": "", **files})
    _write(tmp_path, {"storage/__init__.py": ""})
    wiring = frozenset(
        {"bot.cli"} | ({"bot.wiring.app"} if "bot/wiring/app.py" in files else set())
    )
    if "bot/cli.py" not in files:
        _write(tmp_path, {"bot/cli.py": "import telegram\n"})
    problems = violations(tmp_path, wiring)
    assert any(p.startswith(expected) for p in problems), problems


def test_a_clean_synthetic_tree_passes(tmp_path: Path) -> None:
    """The allowed directions are not reported: the checker is not merely noisy."""
    _write(
        tmp_path,
        {
            "bot/__init__.py": "",
            "bot/cli.py": (
                "import telegram\nfrom storage.db import Database\nimport bot.people.roles\n"
            ),
            "bot/people/roles.py": "from storage import people\nfrom bot.config import Config\n",
            "bot/config.py": "import tomllib\n",
            "sandbox/__init__.py": "from .server import Sandbox\n",
            "sandbox/server.py": "from . import store\nfrom .store import _Queued\n",
            "sandbox/store.py": "",
            "handlers/__init__.py": "from telegram.ext import Application\n",
            "handlers/chats.py": "from telegram import Update\nfrom bot import people, cli\n",
            "storage/__init__.py": "",
            "storage/db.py": "import aiosqlite\n",
            "storage/people.py": "from storage.db import Database\nfrom . import db\n",
        },
    )
    assert violations(tmp_path, frozenset({"bot.cli"})) == []


def test_the_readme_tree_names_every_package() -> None:
    """README's architecture diagram is the map newcomers read: a package missing from it
    (or one it names that is gone) makes it wrong, so the two are checked against each other."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    tree = readme[readme.index("## Architecture") :].split("Imports go along", 1)[0]
    packages = sorted(
        p.parent.name for p in (ROOT / "bot").glob("*/__init__.py") if p.parent.name != "sandbox"
    )
    missing = [name for name in packages if f"── {name}/" not in tree]
    assert not missing, f"README's tree lacks bot/{missing}"
    named = set(re.findall(r"── (\w+)/", tree))
    tops = {"handlers", "bot", "storage", "sandbox", "locales", "tests", "bench"}
    gone = sorted(n for n in named - tops if not (ROOT / "bot" / n / "__init__.py").exists())
    assert not gone, f"README's tree names packages that do not exist: {gone}"
