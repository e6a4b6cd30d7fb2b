"""benchmarks/gpu.py --small: the table a full GPU run fills has its full shape and only real figures;
benchmarks/cuda_chapters.py: which runs each chapter gets.

On the CPU, torch.compile is skipped and there is no GPU memory, and the output says so; on CUDA (tests
marked `cuda`, run where a GPU is present) every cell holds figures, peak GPU memory included.
"""
import importlib
import math
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
ARCHITECTURES = ["inception", "alexnet", "mlp 1x512", "mlp 3x512"]
LOOPS = ["d2lutil fp32", "d2lutil amp", "d2lutil channels_last", "d2lutil torch.compile",
         "DataLoader(TensorDataset)", "hand-written"]


def positive(text: str) -> float:
    """The number in a table cell ('1,234', '0.5', '2.00x'), which must be positive and finite."""
    value = float(text.removesuffix("x").replace(",", ""))
    assert math.isfinite(value) and value > 0, text
    return value


@pytest.fixture(scope="module", params=["cpu", pytest.param("cuda", marks=pytest.mark.cuda)])
def run(request) -> tuple[str, str]:
    """The device and what `python benchmarks/gpu.py --small --device DEVICE` prints."""
    done = subprocess.run([sys.executable, "benchmarks/gpu.py", "--small", "--device", request.param], cwd=ROOT,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    return request.param, done.stdout


def test_the_table_has_every_architecture_and_loop_with_real_figures(run):
    device, output = run
    lines = output.splitlines()
    header = lines.index(f"| model | {' | '.join(LOOPS)} |")
    rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in lines[header + 2:header + 6]]
    assert [row[0] for row in rows] == ARCHITECTURES and all(len(row) == 1 + len(LOOPS) for row in rows)
    assert not lines[header + 6].startswith("|")
    for row in rows:
        for loop, cell in zip(LOOPS, row[1:]):
            if device == "cpu" and loop == "d2lutil torch.compile":  # what a CPU cannot do in --small's budget
                assert cell == "skipped"
                continue
            seconds, speed, peak = cell.split(", ")
            positive(seconds.removesuffix(" s"))
            assert positive(speed) == 1.0 if loop == "d2lutil fp32" else positive(speed)
            assert peak == "n/a" if device == "cpu" else positive(peak.removesuffix(" MiB"))
    if device == "cpu":
        assert "skipped: torch.compile on a CPU" in output and "peak GPU memory: n/a, there is no GPU memory on a CPU" in output
    else:
        assert "skipped" not in output


def test_the_ratios_to_the_other_loops_are_printed_without_claiming_the_gpu_targets(run):
    _, output = run
    ratios = re.findall(r"^(.+): d2lutil fp32 runs at (\S+)x the DataLoader\(TensorDataset\) loop .* and (\S+)x the "
                        r"hand-written loop \(target >= 0.90x\)$", output, re.MULTILINE)
    assert [name for name, *_ in ratios] == ARCHITECTURES
    assert all(positive(a) and positive(b) for _, a, b in ratios)
    assert not re.search(r"\b(met|MISSED)\b", output)
    assert "targets: they apply to the full size on an H100-class GPU, not checked here" in output


def test_the_small_inception_fits_gaussian_noise(run):
    _, output = run
    fit = re.search(r"^fit Gaussian inputs: small Inception .*: reached 100% training accuracy after (\d+) epochs "
                    r"in (\S+) s$", output, re.MULTILINE)
    assert fit, output[-1000:]
    assert 1 <= int(fit[1]) < 40 and positive(fit[2])


@pytest.fixture(scope="module")
def cuda_chapters():
    """benchmarks/cuda_chapters.py as a module (it imports its sibling suite_time.py)."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        yield importlib.import_module("cuda_chapters")
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))


def write_chapter(path: Path, parameters: str) -> Path:
    """A chapter-like notebook whose parameters cell is `parameters`."""
    cell = nbformat.v4.new_code_cell(parameters, metadata={"tags": ["parameters"]})
    kernel = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    nbformat.write(nbformat.v4.new_notebook(cells=[cell], metadata=kernel), path)
    return path


def test_cuda_chapters_runs_mixed_precision_only_with_the_parameters_a_chapter_declares(cuda_chapters, tmp_path):
    both = write_chapter(tmp_path / "09_both.ipynb", 'device = "auto"\namp = None\nchannels_last = False')
    amp_only = write_chapter(tmp_path / "10_amp.ipynb", 'device = "auto"\namp = None')
    neither = write_chapter(tmp_path / "11_neither.ipynb", 'device = "auto"')
    mixed = "+ amp=bf16, channels_last"
    assert cuda_chapters.chapter_runs(both, "cuda") == {
        "device=cuda": {"device": "cuda"}, mixed: {"device": "cuda", "amp": "bf16", "channels_last": True}}
    assert cuda_chapters.chapter_runs(amp_only, "cpu")[mixed] == {"device": "cpu", "amp": "bf16"}
    assert cuda_chapters.chapter_runs(neither, "cuda")[mixed] is None


def test_cuda_chapters_selects_chapters_by_number(cuda_chapters):
    assert [nb.name[:2] for nb in cuda_chapters.select_chapters(["06", "01"])] == ["06", "01"]
    assert cuda_chapters.select_chapters(None) == cuda_chapters.chapter_notebooks()
    with pytest.raises(ValueError, match=r"\['09', '6'\] are not allowed; choose from 01, 02"):
        cuda_chapters.select_chapters(["6", "09"])
