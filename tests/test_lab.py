"""Class use: a Jupyter server with the pinned extensions opens every chapter as a notebook."""

import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import ROOT, chapter_paths

pytestmark = pytest.mark.book
TOKEN = "book-test"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    port = free_port()
    jupyter = Path(sys.executable).with_name("jupyter")
    process = subprocess.Popen(
        [str(jupyter), "server", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
         "--allow-root", f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir={ROOT}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"{url}/api/status?token={TOKEN}", timeout=2).close()
                break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("the Jupyter server did not start within 60 s")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.mark.parametrize("path", chapter_paths(), ids=lambda p: p.stem)
def test_chapter_opens_as_a_notebook(server, path):
    relative = path.relative_to(ROOT).as_posix()
    with urllib.request.urlopen(
            f"{server}/api/contents/{relative}?type=notebook&token={TOKEN}", timeout=30) as reply:
        model = json.load(reply)
    assert model["type"] == "notebook"
    cells = model["content"]["cells"]
    code_cells = [c for c in cells if c["cell_type"] == "code"]
    assert path.read_text(encoding="utf-8").count("```{code-cell}") == len(code_cells)
