"""Build step of the kgys wheel: it carries the browser libraries kgys serves itself, taken from npm.

hls.js (plays video) and swagger-ui-dist (the interactive API reference at ``/api/v1/docs``), pinned in
``package.json`` and installed into ``node_modules`` by ``npm ci``, are copied into the built package as
``kgys/static/vendor/hls.js/`` and ``kgys/static/vendor/swagger-ui/``, so that an installed kgys serves them
without a source checkout or the internet. When ``node_modules`` lacks them, the build runs ``npm ci`` first
(install scripts of the packages are not run); without npm, or when that fails, the build stops and says so.
Editable installs (``pip install -e .``) copy nothing: they serve the checkout's ``node_modules`` in place. The
metadata lives in ``pyproject.toml``.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.errors import SetupError

ROOT = Path(__file__).resolve().parent
NODE_MODULES = ROOT / "node_modules"
# npm package -> (its files the wheel carries, the folder of the built package they go to)
BROWSER_LIBRARIES = {
    "hls.js": (("dist/hls.min.js", "dist/hls.min.js.map", "LICENSE"), ("kgys", "static", "vendor", "hls.js")),
    "swagger-ui-dist": (("swagger-ui-bundle.js", "swagger-ui.css", "swagger-ui-bundle.js.LICENSE.txt", "LICENSE",
                         "NOTICE"), ("kgys", "static", "vendor", "swagger-ui")),
}
NPM_CI = ["npm", "ci", "--omit=dev", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"]


def _missing() -> list[str]:
    return [f"{name}/{file}" for name, (files, _target) in BROWSER_LIBRARIES.items() for file in files
            if not (NODE_MODULES / name / file).is_file()]


def browser_libraries() -> Path:
    """The npm-installed libraries' folder, running ``npm ci`` when a file is missing; a clear error when they
    cannot be had."""
    if not _missing():
        return NODE_MODULES
    npm = shutil.which("npm")
    if npm is None or not (ROOT / "package-lock.json").is_file():
        why = "npm is not installed" if npm is None else "package-lock.json is missing"
        raise SetupError(f"the kgys wheel needs {', '.join(BROWSER_LIBRARIES)} from npm ({', '.join(_missing())} "
                         f"missing in {NODE_MODULES} and {why}): install Node.js and npm, or run "
                         "`npm ci --omit=dev --ignore-scripts` in the source folder, then build again")
    done = subprocess.run([npm, *NPM_CI[1:]], cwd=ROOT, capture_output=True, text=True, check=False)
    missing = _missing()
    if done.returncode != 0 or missing:
        raise SetupError(f"`{' '.join(NPM_CI)}` in {ROOT} did not install the browser libraries (exit "
                         f"{done.returncode}, missing {', '.join(missing) or 'nothing'}): "
                         f"{(done.stderr or done.stdout)[-800:]}")
    return NODE_MODULES


class BuildPyWithBrowserAssets(build_py):
    """``build_py`` that also copies the browser libraries into the built package."""

    def run(self) -> None:
        """Build the Python package, then add the browser libraries (not for editable installs)."""
        super().run()
        if getattr(self, "editable_mode", False):
            return
        source = browser_libraries()
        for name, (files, folder) in BROWSER_LIBRARIES.items():
            target = Path(self.build_lib, *folder)
            target.mkdir(parents=True, exist_ok=True)
            for file in files:
                self.copy_file(str(source / name / file), str(target / Path(file).name))


setup(cmdclass={"build_py": BuildPyWithBrowserAssets})
