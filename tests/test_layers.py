"""The apps import one way only (DESIGN.md, "Layout and layers"):

    realtime → board → cases → imaging → meetings → decisions

each importing only the apps before it. board/'s wiring modules (settings, urls, asgi,
routing, serve, the demo data, the home page and its work lists) sit on top and may import
anything.

Every import counts: at the top of a module or inside a function, ``import x`` or
``from x import y``, and string model references such as ``"meetings.Meeting"`` (a foreign key
by name is an import the loader makes later). Migrations are history: they are not checked.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ORDER = ("realtime", "board", "cases", "imaging", "meetings", "decisions")
WIRING = {
    "board.settings",
    "board.urls",
    "board.asgi",
    "board.routing",
    "board.serve",
    "board.demo",
    "board.home",
    "board.worklist",
    "board.management.commands.seed_demo",
}
# "app.Model" or "app.model" as Django writes model labels.
MODEL_LABEL = re.compile(rf"({'|'.join(ORDER)})\.[A-Za-z_]\w*")


def imported_apps(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, what) for everything a module imports or names as a model label."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
        elif isinstance(node, ast.Call) and _is_get_model(node):
            found += [(node.lineno, a.value) for a in node.args[:1] if isinstance(a, ast.Constant)]
        elif isinstance(node, ast.Constant) and _is_model_label(node.value):
            found.append((node.lineno, node.value))
    return found


def _is_model_label(value: object) -> bool:
    return (
        isinstance(value, str)
        and MODEL_LABEL.fullmatch(value) is not None
        and value.split(".")[1][:1].isupper()
    )


def _is_get_model(node: ast.Call) -> bool:
    # apps.get_model("meetings", "Meeting") names an app as surely as an import does.
    func = node.func
    return isinstance(func, ast.Attribute) and func.attr == "get_model"


def violations(root: Path = ROOT) -> list[str]:
    rank = {app: index for index, app in enumerate(ORDER)}
    found = []
    for app in ORDER:
        for path in sorted((root / app).rglob("*.py")):
            relative = path.relative_to(root)
            if "migrations" in relative.parts:
                continue
            module = ".".join(relative.with_suffix("").parts).removesuffix(".__init__")
            if module in WIRING:
                continue
            for line, name in imported_apps(ast.parse(path.read_text(), str(path))):
                target = name.split(".")[0]
                if target in rank and rank[target] > rank[app]:
                    found.append(f"{relative}:{line}: {app} imports {name}")
    return found


def test_apps_import_only_the_layers_before_them():
    assert violations() == []


def test_the_check_sees_hidden_imports_and_model_labels(tmp_path):
    # The rule catches what a plain grep of the top lines would miss.
    for app in ORDER:
        (tmp_path / app).mkdir()
    (tmp_path / "cases" / "models.py").write_text(
        "from django.db import models\n"
        "class A(models.Model):\n"
        '    m = models.ForeignKey("meetings.Meeting", on_delete=models.CASCADE)\n'
    )
    (tmp_path / "realtime" / "publish.py").write_text(
        "def send():\n    from meetings.models import AgendaItem\n    return AgendaItem\n"
    )
    (tmp_path / "board" / "views.py").write_text("import decisions.services\n")
    (tmp_path / "board" / "urls.py").write_text("from decisions import views\n")  # wiring
    (tmp_path / "imaging" / "views.py").write_text("from cases.access import get_case_for_user\n")
    assert violations(tmp_path) == [
        "realtime/publish.py:2: realtime imports meetings.models",
        "board/views.py:1: board imports decisions.services",
        "cases/models.py:3: cases imports meetings.Meeting",
    ]
