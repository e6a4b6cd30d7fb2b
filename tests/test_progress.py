"""The per-epoch progress display: text that ends full with its reason, in a terminal and in a saved notebook."""
import nbformat
import pytest
from nbclient import NotebookClient

from d2lutil.progress import EpochProgress, text_bar

WIDGET = "application/vnd.jupyter.widget-view+json"


def test_text_bar_fills_in_proportion():
    assert text_bar(0.0) == "░" * 24 and text_bar(1.0) == "█" * 24 and text_bar(0.5).count("█") == 12
    assert text_bar(2.0) == "█" * 24


def test_a_run_stopped_early_ends_as_a_full_bar_with_its_reason(capsys):
    bar = EpochProgress(60, "random labels", True)
    for epoch in range(12):
        bar.update(train_acc=epoch / 11, val_acc=0.1)
    assert capsys.readouterr().err == ""  # stderr is no terminal here: only the final line is written
    assert bar.line().count("█") == round(24 * 12 / 60)
    bar.close("train_acc reached 1 at epoch 12")
    bar.close("twice")
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("random labels: " + "█" * 24 + " 12/60 epochs")
    assert "train_acc 1.000  val_acc 0.100" in line and line.endswith("(train_acc reached 1 at epoch 12)")


def test_disabled_shows_nothing(capsys):
    bar = EpochProgress(5, "quiet", False)
    bar.update(train_acc=1.0)
    bar.close("5 epochs done")
    assert capsys.readouterr() == ("", "")


def test_a_negative_total_is_refused():
    with pytest.raises(ValueError, match="total=-1"):
        EpochProgress(-1, "x", True)


def test_a_saved_notebook_keeps_the_progress_as_text(tmp_path):
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "from d2lutil.progress import EpochProgress\n"
        "bar = EpochProgress(10, 'demo run', True)\n"
        "for epoch in range(4):\n"
        "    bar.update(train_acc=0.25 * (epoch + 1))\n"
        "bar.close('stopped early: train_acc reached 1 at epoch 4')")])
    NotebookClient(notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = notebook.cells[0].outputs
    assert len(outputs) == 1 and WIDGET not in outputs[0].data  # one display, updated in place; no widget
    text = outputs[0].data["text/plain"]
    assert text.startswith("demo run: " + "█" * 24 + " 4/10 epochs") and "train_acc 1.000" in text
    assert text.endswith("(stopped early: train_acc reached 1 at epoch 4)")
