"""The cheap guard of the learner's path: every chapter runs top to bottom with interactive=True (widgets on)."""
from pathlib import Path

import nbformat
import papermill
import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
WIDGET = "application/vnd.jupyter.widget-view+json"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_runs_with_interactive_true(chapter, tmp_path):
    declared = papermill.inspect_notebook(str(chapter))
    parameters = {"interactive": True, "results_dir": str(tmp_path / "results"), "figures_dir": str(tmp_path / "figures")}
    if "checkpoint_dir" in declared:
        parameters["checkpoint_dir"] = str(tmp_path / "checkpoints")
    out = tmp_path / chapter.name
    papermill.execute_notebook(str(chapter), str(out), parameters=parameters, cwd=str(chapter.parent),
                               progress_bar=False, kernel_name="python3")  # raises on any cell's error
    outputs = [o for cell in nbformat.read(out, as_version=4).cells if cell.cell_type == "code" for o in cell.outputs]
    progress = [o for o in outputs if " epochs  " in o.get("data", {}).get("text/plain", "")]
    assert all(WIDGET not in o.data and o.data["text/plain"].endswith(")") for o in progress), \
        "a progress display is a widget, or did not say how its run ended"
    assert any(WIDGET in o.get("data", {}) for o in outputs), "interactive=True showed no widget"
