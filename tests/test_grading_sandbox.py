"""Hostile notebooks graded in one batch with honest ones: each attack fails and costs only its own notebook.

The attacks are real chapter 1 notebooks written here. They try to rewrite the gradebook, other
submissions and the grader's package from processes left running; to find, stop and kill the
grader; to read its command line (and seed); to print fake grades and flood the output; to exhaust
processes and memory and reach the network; to make answers that cannot be sent back or kernels
that keep dying. Each attack notebook reports what it saw by raising it from its `bias_variance`
answer, so the gradebook's reason shows whether the attack got anywhere. One batch, graded through
the command line in a subprocess with two workers, serves every test of this module.
"""
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from d2lutil.grading.generate import ROOT
from honest_answers import ACCURACY, BIAS_VARIANCE, DIAGNOSE

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed (.ci/run installs it)")

MARKER = "d2lutil-attack-7f3a"
CHECKS = ['check("01.accuracy", accuracy)', 'check("01.diagnose", diagnose)', 'check("01.bias_variance", bias_variance)']
REPORT = "def bias_variance(predictions, y):\n    raise RuntimeError(f'saw {seen}')"
FULL = {"01.accuracy": 1, "01.diagnose": 2, "01.bias_variance": 2}
NOTHING = dict.fromkeys(FULL, 0)


def attack(*cells: str) -> list[str]:
    """A notebook that runs `cells` (which fill the dict `seen`), leaves two answers as stubs and reports `seen`."""
    stub = "    raise NotImplementedError"
    return ["seen = {}", *cells, f"def accuracy(scores, y):\n{stub}", CHECKS[0],
            f"def diagnose(*args):\n{stub}", CHECKS[1], REPORT, CHECKS[2]]


def honest(*extra: str) -> list[str]:
    """A correct notebook, with `extra` cells run before its answers."""
    return [*extra, ACCURACY, CHECKS[0], DIAGNOSE, CHECKS[1], BIAS_VARIANCE, CHECKS[2]]


def sabotage(paths: dict[str, Path]) -> str:
    """A cell that writes to every target now and from a detached process that keeps trying for 20 s."""
    payload = f"""
import os, time
targets = {[str(p) for p in paths.values()]!r}
def hit():
    done = []
    for target in targets:
        try:
            with open(target, 'w') as f:
                f.write('from d2lutil.grading import question\\n# {MARKER}\\n')
            done.append(target)
        except OSError as err:
            pass
    return done
if os.fork() == 0:
    os.setsid()
    for fd in (1, 2):  # so that the parent's output ends now
        os.dup2(os.open(os.devnull, os.O_WRONLY), fd)
    end = time.time() + 20
    while time.time() < end:
        hit()
        time.sleep(0.5)
    os._exit(0)
print(hit())
"""
    return (f"import subprocess, sys\n"
            f"payload = {payload!r}\n"
            f"seen['wrote'] = subprocess.run([sys.executable, '-c', payload, '{MARKER}'], capture_output=True, text=True,"
            f" start_new_session=True).stdout.strip()")


KILL_GRADER = """import os, signal
seen['pids'], seen['seed'] = 0, False
for pid in [p for p in os.listdir('/proc') if p.isdigit() and int(p) != os.getpid()]:
    try:
        cmdline = open(f'/proc/{pid}/cmdline', 'rb').read()
    except OSError:
        continue
    seen['pids'] += 1
    seen['seed'] = seen['seed'] or b'--seed' in cmdline
    if b'd2lutil' in cmdline or b'pytest' in cmdline or b'bwrap' in cmdline:
        for sig in (signal.SIGSTOP, signal.SIGKILL):
            try:
                os.kill(int(pid), sig)
            except OSError as err:
                seen['kill'] = err.strerror
try:
    seen['mem'] = len(open(f'/proc/{os.getppid()}/mem', 'rb').read(1))
except OSError as err:
    seen['mem'] = err.strerror"""
FAKE = f"""import os, sys
print('01_generalization_gap.ipynb: 5/5 points {MARKER}')
sys.__stdout__.write('5/5 points {MARKER}\\n'); sys.__stdout__.flush()
os.write(1, b'5/5 points {MARKER}\\n'); os.write(2, b'5/5 points {MARKER}\\n')
for path in ['/dev/tty', '/proc/1/fd/1', '/proc/1/fd/2']:
    try:
        with open(path, 'w') as f:
            f.write('5/5 points {MARKER}\\n')
    except OSError:
        pass"""
HOG = """import os, socket, torch
children = []
try:
    for _ in range(1000):
        pid = os.fork()
        if pid == 0:
            import time; time.sleep(30); os._exit(0)
        children.append(pid)
except OSError:
    pass
seen['forks'] = len(children)
try:
    seen['alloc'] = torch.empty(40 * 2**30, dtype=torch.uint8).numel()
except (MemoryError, RuntimeError):
    seen['alloc'] = 'refused'
try:
    socket.create_connection(('127.0.0.1', PORT), timeout=3)
    seen['net'] = 'connected'
except OSError:
    seen['net'] = 'refused'"""
UNSENDABLE = '''class Loops:
    def __reduce__(self):
        while True:
            pass
class Raises:
    def __reduce__(self):
        raise RuntimeError("cannot pickle me")
def diagnose(*args):
    return Raises()
def bias_variance(predictions, y):
    return Loops()'''
DIE = "import os\nos._exit(1)"


def write_notebook(path: Path, cells: list[str]) -> None:
    """A chapter 1 exercise notebook with the usual imports, then `cells`."""
    notebook = new_notebook(cells=[new_code_cell("import torch\nfrom d2lutil.grading import check")]
                            + [new_code_cell(source) for source in cells])
    notebook.metadata.kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, path)


def own_processes_with(marker: str) -> list[int]:
    """Host processes whose command line holds `marker`."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if marker.encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                found.append(int(pid))
        except OSError:
            continue
    return found


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """Grade the hostile batch once; return grades by student, the CLI's run, hashes and the targets attacked."""
    root = tmp_path_factory.mktemp("class")
    folder, books = root / "submissions", root / "books"
    listener = __import__("socket").create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    targets = {"gradebook": books / "gradebook.json", "csv": books / "gradebook.csv",
               "other": folder / "honest_a" / "01_generalization_gap.ipynb",
               "outside": root / "outside.txt",
               "package": ROOT / "d2lutil" / "grading" / "questions" / f"zz_{MARKER.replace('-', '_')}.py"}
    own = folder / "saboteur" / "01_generalization_gap.ipynb"
    notebooks = {
        "honest_a": honest(), "honest_b": honest("print('see d2lutil.grading.questions')\n"
                                                 "import d2lutil.grading.registry"),
        "saboteur": attack(sabotage({**targets, "self": own})),
        "grader_killer": attack(KILL_GRADER), "fake_output": honest(FAKE),
        "floods_output": honest("print('x' * 300_000_000)"), "resource_hog": attack(HOG.replace("PORT", str(port))),
        "freezes_itself": [ACCURACY, CHECKS[0], "import os, signal\nos.kill(os.getpid(), signal.SIGSTOP)",
                           DIAGNOSE, CHECKS[1], BIAS_VARIANCE, CHECKS[2]],
        "unsendable": [ACCURACY, CHECKS[0], UNSENDABLE, CHECKS[1], CHECKS[2]],
        "dies_twice": [ACCURACY, CHECKS[0], DIE, DIAGNOSE, CHECKS[1], DIE, BIAS_VARIANCE, CHECKS[2]],
    }
    for name, cells in notebooks.items():
        write_notebook(folder / name / "01_generalization_gap.ipynb", cells)
    (folder / "zz_stub").mkdir()
    shutil.copy(ROOT / "exercises" / "01_generalization_gap.ipynb", folder / "zz_stub" / "01_generalization_gap.ipynb")
    bad = {"bad_json": "{not json", "no_cells": '{"nbformat": 4, "nbformat_minor": 5, "metadata": {}}',
           "text_file": "Dear grader, please give me full marks.\n"}
    for name, text in bad.items():
        (folder / name).mkdir()
        (folder / name / "01_generalization_gap.ipynb").write_text(text)
    write_notebook(folder / "unknown_chapter" / "99_secret.ipynb", honest())
    hashes = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.rglob("*.ipynb")}
    (root / "tmp").mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "TMPDIR": str(root / "tmp")}
    run = subprocess.run([sys.executable, "-m", "d2lutil", "grade", str(folder), "--workers", "2", "--seed", "1234",
                          "--timeout", "30", "--call-timeout", "5", "--max-processes", "64", "--no-progress",
                          "--json", str(targets["gradebook"]), "--csv", str(targets["csv"])],
                         capture_output=True, text=True, env=env, timeout=900)
    listener.close()
    written = {p: p.read_bytes() for p in (targets["gradebook"], targets["csv"])}
    time.sleep(3)  # any process left behind would keep writing during this time
    grades = {Path(g["path"]).parent.name: g for g in json.loads(targets["gradebook"].read_text())}
    return {"grades": grades, "run": run, "hashes": hashes, "targets": targets, "written": written,
            "temporary": list((root / "tmp").iterdir())}


def points(grade: dict) -> dict[str, int]:
    """Points earned per question id."""
    return {q["qid"]: q["earned"] for q in grade["questions"]}


def reason(grade: dict, qid: str = "01.bias_variance") -> str:
    """The reason given for one question."""
    return next(q["reason"] for q in grade["questions"] if q["qid"] == qid)


def test_honest_notebooks_earn_full_marks_beside_every_attack(batch):
    grades = batch["grades"]
    for name in ("honest_a", "honest_b", "fake_output", "floods_output"):
        assert points(grades[name]) == FULL, (name, grades[name])
    assert points(grades["zz_stub"]) == NOTHING, "an untouched stub graded after the attacks earns nothing"
    assert batch["run"].returncode == 1, "some files could not be graded, and the exit status says so"


def test_processes_left_behind_write_nothing_outside_their_sandbox(batch):
    targets = batch["targets"]
    assert reason(batch["grades"]["saboteur"]) == "your code raised RuntimeError: saw {'wrote': '[]'}"
    assert points(batch["grades"]["saboteur"]) == NOTHING
    assert {p: p.read_bytes() for p in batch["written"]} == batch["written"], "the gradebook changed after the grader"
    assert all(hashlib.sha256(p.read_bytes()).hexdigest() == h for p, h in batch["hashes"].items())
    assert not targets["outside"].exists() and not targets["package"].exists()
    assert own_processes_with(MARKER) == [], "a process of a sandbox outlived the grader"
    assert batch["temporary"] == [], "the grader left temporary folders behind"


def test_the_kernel_cannot_see_signal_or_read_the_grader(batch):
    seen = reason(batch["grades"]["grader_killer"])
    assert "'seed': False" in seen and "'pids': 1," in seen, seen  # only its sandbox's init: no grader, no --seed
    assert "'mem': 1" not in seen, seen
    assert points(batch["grades"]["grader_killer"]) == NOTHING


def test_fake_grades_and_floods_never_reach_the_graders_output(batch):
    run = batch["run"]
    assert MARKER not in run.stdout and MARKER not in run.stderr
    assert len(run.stdout) < 20_000


def test_processes_memory_and_network_are_limited(batch):
    seen = reason(batch["grades"]["resource_hog"])
    forks = int(seen.split("'forks': ")[1].split(",")[0])
    assert 0 < forks < 64, seen
    assert "'alloc': 'refused'" in seen and "'net': 'refused'" in seen, seen


def test_a_frozen_kernel_costs_only_what_comes_after_it(batch):
    grade = batch["grades"]["freezes_itself"]
    assert points(grade) == {"01.accuracy": 1, "01.diagnose": 0, "01.bias_variance": 0}
    assert "not reached: the notebook ran past its 30 s limit in cell 4" in reason(grade, "01.diagnose")


def test_answers_that_cannot_be_sent_back_cost_only_their_question(batch):
    grade = batch["grades"]["unsendable"]
    assert points(grade) == {"01.accuracy": 1, "01.diagnose": 0, "01.bias_variance": 0}
    assert reason(grade) == "your code did not return within 5 s"


def test_a_kernel_that_dies_twice_is_restarted_and_loses_nothing(batch):
    assert points(batch["grades"]["dies_twice"]) == FULL


def test_unreadable_files_and_unknown_chapters_get_a_row_with_the_reason(batch):
    grades = batch["grades"]
    for name in ("bad_json", "no_cells", "text_file"):
        assert grades[name]["failed"].startswith("not graded: not a readable notebook"), grades[name]
    assert grades["unknown_chapter"]["failed"] == "not graded: no questions are registered for chapter 99"
    rows = Path(batch["targets"]["csv"]).read_text().splitlines()
    assert len(rows) == 1 + 3 * 11 + 4, "a row per question of each graded notebook, one per failed file"


def test_killing_the_grader_ends_every_worker_and_sandbox(tmp_path):
    for name in ("a", "b"):
        write_notebook(tmp_path / name / "01_generalization_gap.ipynb", ["import time\nwhile True:\n    time.sleep(1)"])
    (tmp_path / "tmp").mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "TMPDIR": str(tmp_path / "tmp")}
    grader = subprocess.Popen([sys.executable, "-m", "d2lutil", "grade", str(tmp_path), "--workers", "2",
                               "--timeout", "300", "--no-progress"], env=env, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while len(own_processes_with(str(tmp_path / "tmp"))) < 2 * 3 and time.monotonic() < deadline:
        time.sleep(1)  # until both sandboxes run: two bwrap processes and a kernel each
    started = own_processes_with(str(tmp_path / "tmp"))
    grader.kill()
    grader.wait()
    time.sleep(3)
    assert len(started) >= 6, "the sandboxes never started"
    assert own_processes_with(str(tmp_path / "tmp")) == [], "a worker or sandbox outlived the grader"
    assert list((tmp_path / "tmp").glob("d2lutil-*")) == [], "the workers left temporary folders behind"
