"""Every chapter runs top to bottom as a live notebook (as in class), widgets included."""

import os
import time

import jupytext
import pytest
from nbclient import NotebookClient

from conftest import chapter_paths

pytestmark = pytest.mark.book


@pytest.mark.parametrize("path", chapter_paths(), ids=lambda p: p.stem)
def test_chapter_executes_as_a_live_notebook(path, monkeypatch):
    monkeypatch.delenv("LECTURE_CODE_STATIC_BOOK", raising=False)
    notebook = jupytext.read(path)
    client = NotebookClient(notebook, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    client.execute()
    elapsed = time.perf_counter() - start
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            assert output.get("name") != "stderr", f"{path.name} wrote to stderr: {output.get('text')}"
    print(f"{path.name}: executed live in {elapsed:.1f} s")
    if "animate_flow(" in path.read_text(encoding="utf-8"):
        kinds = {kind for cell in notebook.cells for output in cell.get("outputs", [])
                 for kind in output.get("data", {})}
        assert "application/vnd.jupyter.widget-view+json" in kinds, (
            f"{path.name} animates a flow but showed no live widget")
    if os.environ.get("LECTURE_CODE_STATIC_BOOK"):
        pytest.fail("the live run must not see the static-book marker")
