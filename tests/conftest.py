"""Shared fixtures: a seeded generator and one executed build of the book."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def rng():
    """A seeded generator; each test gets the same fresh stream."""
    return np.random.default_rng(20261204)


def chapter_paths():
    """The chapters listed in _toc.yml, in order, as paths to their .md files."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [entry["file"] for entry in part["chapters"]]
    return [ROOT / f"{name}.md" for name in files]


@pytest.fixture(scope="session")
def built_book(tmp_path_factory):
    """Build the executed book once, with warnings as errors, into a fresh folder.

    Returns the folder holding the HTML. A failed build fails every test that
    uses it, with the build's log in the message.
    """
    out = tmp_path_factory.mktemp("book")
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    env = {k: v for k, v in os.environ.items() if k != "LECTURE_CODE_STATIC_BOOK"}
    result = subprocess.run(
        [str(jupyter_book), "build", str(ROOT), "--path-output", str(out),
         "-W", "-n", "--keep-going"],
        capture_output=True, text=True, env=env, timeout=1800,
    )
    if result.returncode != 0:
        pytest.fail("the book build failed:\n" + result.stdout[-6000:] + result.stderr[-6000:])
    return out / "_build" / "html"
