"""Build step of the kgys wheel: it carries the browser libraries kgys serves itself, taken from npm.

hls.js (pinned in ``package.json``, installed into ``node_modules`` by ``npm ci``) is copied into the built
package as ``kgys/static/vendor/hls.js/``, so that an installed kgys plays video without a source checkout.
When ``node_modules`` lacks it, the build runs ``npm ci`` first; without npm, or when that fails, the build
stops and says so. Editable installs (``pip install -e .``) copy nothing: they serve the checkout's
``node_modules`` in place. The metadata lives in ``pyproject.toml``.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.errors import SetupError

ROOT = Path(__file__).resolve().parent
HLS_PACKAGE = ROOT / "node_modules" / "hls.js"
HLS_FILES = ("dist/hls.min.js", "dist/hls.min.js.map", "LICENSE")
TARGET = ("kgys", "static", "vendor", "hls.js")
NPM_CI = ["npm", "ci", "--omit=dev", "--no-audit", "--no-fund", "--loglevel=error"]


def hls_package() -> Path:
    """The npm-installed hls.js, running ``npm ci`` when it is missing; a clear error when it cannot be had."""
    if all((HLS_PACKAGE / name).is_file() for name in HLS_FILES):
        return HLS_PACKAGE
    npm = shutil.which("npm")
    if npm is None or not (ROOT / "package-lock.json").is_file():
        why = "npm is not installed" if npm is None else "package-lock.json is missing"
        raise SetupError(f"the kgys wheel needs hls.js from npm ({HLS_PACKAGE} is missing and {why}): "
                         "install Node.js and npm, or run `npm ci --omit=dev` in the source folder, then build again")
    done = subprocess.run([npm, *NPM_CI[1:]], cwd=ROOT, capture_output=True, text=True, check=False)
    missing = [name for name in HLS_FILES if not (HLS_PACKAGE / name).is_file()]
    if done.returncode != 0 or missing:
        raise SetupError(f"`{' '.join(NPM_CI)}` in {ROOT} did not install hls.js (exit {done.returncode}, "
                         f"missing {', '.join(missing) or 'nothing'}): {(done.stderr or done.stdout)[-800:]}")
    return HLS_PACKAGE


class BuildPyWithBrowserAssets(build_py):
    """``build_py`` that also copies hls.js into the built package."""

    def run(self) -> None:
        """Build the Python package, then add the browser libraries (not for editable installs)."""
        super().run()
        if getattr(self, "editable_mode", False):
            return
        source = hls_package()
        target = Path(self.build_lib, *TARGET)
        target.mkdir(parents=True, exist_ok=True)
        for name in HLS_FILES:
            self.copy_file(str(source / name), str(target / Path(name).name))


setup(cmdclass={"build_py": BuildPyWithBrowserAssets})
