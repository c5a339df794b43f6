"""The shape of the package: the import contract (`.importlinter`) holds and would catch a break, no module
is longer than 400 lines, and modules import at their top, not inside functions."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import kgys

PACKAGE = Path(kgys.__file__).resolve().parent
ROOT = PACKAGE.parent.parent
CONFIG = ROOT / ".importlinter"
MAX_LINES = 400

# Modules longer than MAX_LINES, each with the reason it is allowed for now.
LONG_MODULES = {
}

# Imports inside functions, each with the reason it must stay there.
LATE_IMPORTS = {
    "sites/import_read.py": "openpyxl is loaded only when an XLSX file is read",
    "cli/common.py": "the web application is imported only by the commands that serve it",
}


def _lint(config: Path, cwd: Path, pythonpath: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    return subprocess.run(
        [sys.executable, "-c", "import sys; from importlinter.cli import lint_imports_command; "
                               "sys.exit(lint_imports_command())", "--config", str(config), "--no-cache"],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False)


def test_the_import_contract_holds() -> None:
    done = _lint(CONFIG, ROOT)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "0 broken" in done.stdout


def _lint_with_import(tmp_path: Path, module: str, line: str) -> str:
    """lint-imports on a copy of the package with ``line`` added to ``module`` (a path under kgys/); its output
    on one line. The contract must be broken."""
    copy = tmp_path / "kgys"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "static", "templates",
                                                                  "locales", "data"))
    target = copy / module
    target.write_text(target.read_text(encoding="utf-8") + f"\n\n{line}  # noqa: E402\n", encoding="utf-8")
    shutil.copy(CONFIG, tmp_path / ".importlinter")
    done = _lint(tmp_path / ".importlinter", tmp_path, pythonpath=tmp_path)
    assert done.returncode != 0, done.stdout[-4000:]
    return " ".join(done.stdout.split())


def test_a_domain_imported_by_the_audit_mechanism_breaks_the_contract(tmp_path: Path) -> None:
    out = _lint_with_import(tmp_path, "audit/service.py", "from kgys.cameras import service as camera_service")
    assert "The shared kernel imports no domain BROKEN" in out
    assert "Domains do not import each other in a cycle BROKEN" in out
    assert "kgys.audit.service -> kgys.cameras.service" in out


def test_a_service_importing_another_domain_breaks_the_contract(tmp_path: Path) -> None:
    out = _lint_with_import(tmp_path, "cameras/service.py", "from kgys.recording import service as recording_service")
    assert ("Domains are independent of each other but through flows, the web face and the shared schema BROKEN"
            in out)
    assert "kgys.cameras is not allowed to import kgys.recording" in out
    assert "kgys.cameras.service -> kgys.recording.service" in out


def _modules() -> list[tuple[str, Path]]:
    return [(path.relative_to(PACKAGE).as_posix(), path) for path in sorted(PACKAGE.rglob("*.py"))]


def test_no_module_is_longer_than_400_lines() -> None:
    too_long = {name: n for name, path in _modules()
                if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES and name not in LONG_MODULES}
    assert too_long == {}, "split these modules"
    names = dict(_modules())
    stale = [name for name in LONG_MODULES
             if name not in names or len(names[name].read_text(encoding="utf-8").splitlines()) <= MAX_LINES]
    assert stale == [], "no longer too long: remove from LONG_MODULES"


def _late_imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            found += [f"{sub.lineno}: {ast.unparse(sub)}" for sub in ast.walk(node)
                      if isinstance(sub, (ast.Import, ast.ImportFrom))]
    return sorted(set(found))


def test_modules_import_at_their_top() -> None:
    late = {name: found for name, path in _modules() if name not in LATE_IMPORTS and (found := _late_imports(path))}
    assert late == {}, "move these imports to the top of the module"
    stale = [name for name in LATE_IMPORTS if not _late_imports(PACKAGE / name)]
    assert stale == [], "no imports inside functions any more: remove from LATE_IMPORTS"
