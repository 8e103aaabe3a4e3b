"""Layers point one way: transport (realtime) -> rooms -> messaging -> chatsite.

`chatsite.asgi`, `chatsite.urls` and `chatsite.routing` are the composition root: they
put the layers together, so they may import any of them.
"""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parent.parent
LAYERS = ["realtime", "rooms", "messaging", "chatsite"]  # top to bottom
COMPOSITION_ROOT = {"chatsite.asgi", "chatsite.urls", "chatsite.routing"}


def imported_packages(source: str) -> set[str]:
    """The top-level names of everything `source` imports, wherever the import stands
    (inside functions and `TYPE_CHECKING` blocks too)."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def upward_imports(layer: str, source: str) -> set[str]:
    """The project layers above `layer` that `source` imports."""
    above = set(LAYERS[: LAYERS.index(layer)])
    return imported_packages(source) & above


def project_modules():
    for layer in LAYERS:
        for path in sorted((PROJECT_DIR / layer).rglob("*.py")):
            module = ".".join(path.relative_to(PROJECT_DIR).with_suffix("").parts)
            if module not in COMPOSITION_ROOT:
                yield layer, module, path


def test_the_checker_sees_upward_imports_anywhere_in_a_module():
    source = (
        "from typing import TYPE_CHECKING\n"
        "import chatsite.errors\n"
        "if TYPE_CHECKING:\n    from realtime.connection import Connection\n"
        "def later():\n    import rooms.services\n"
    )
    assert upward_imports("messaging", source) == {"realtime", "rooms"}
    assert upward_imports("realtime", source) == set()


@pytest.mark.parametrize(
    ("layer", "module", "path"), list(project_modules()), ids=[m for _, m, _ in project_modules()]
)
def test_no_module_imports_a_layer_above_its_own(layer, module, path):
    assert upward_imports(layer, path.read_text()) == set(), f"{module} imports upward"


def test_the_services_and_the_admin_import_without_building_a_socketio_server():
    code = (
        "import sys, django; django.setup()\n"
        "import rooms.services, rooms.selectors, rooms.admin, rooms.forms, rooms.views\n"
        "import messaging.services, messaging.selectors\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('realtime', 'socketio', 'engineio')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=PROJECT_DIR,
        env={"DJANGO_SETTINGS_MODULE": "chatsite.test_settings", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == "[]"
