"""The course as a website: the executed chapters and the exercises staged as a Sphinx source tree, then built.

    python book/build_book.py [--chapters build] [--out build/site]

The site mirrors the repository's layout (notebooks/NN_name.html, exercises/NN_name.html), so the links
between notebooks work on the site as they do on GitHub. Nothing is executed here: the chapters are the
notebooks that `make run` wrote into the chapters folder (`make book` reruns the missing or outdated ones).
"""
from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import static_widgets  # noqa: E402  (the book's own module, beside this file)

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
BRANCH = "main"
SKIPPED_SECTIONS = {"Quick check", "Exercises"}
COLAB_BADGE = re.compile(r"\[!\[[^\]]*\]\(https://colab\.research\.google\.com/assets/colab-badge\.svg\)\]"
                         r"\([^)]*\)[ \t]*\n?")


def repository_url(pyproject: Path = ROOT / "pyproject.toml") -> str:
    """The repository address pyproject.toml declares as [project.urls] Repository (a GitHub address)."""
    url = tomllib.loads(pyproject.read_text())["project"].get("urls", {}).get("Repository", "")
    if not re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", url):
        raise ValueError(f"{pyproject}: [project.urls] Repository = {url!r}; it must be an address "
                         "https://github.com/OWNER/NAME, since Colab opens notebooks from GitHub")
    return url


def colab_url(repository: str, path: str) -> str:
    """The address that opens the repository's notebook at `path` in Colab."""
    return repository.replace("https://github.com/", "https://colab.research.google.com/github/") + \
        f"/blob/{BRANCH}/{path}"


def github_url(repository: str, path: str) -> str:
    """The address of the file at `path` on GitHub."""
    return f"{repository}/blob/{BRANCH}/{path}"


def numbered_notebooks(folder: Path) -> list[Path]:
    """The notebooks NN_name.ipynb of `folder`, in course order (as d2lutil.runner finds them, without
    importing torch into the book's build)."""
    return sorted(folder.glob("[0-9][0-9]_*.ipynb"))


def executed_chapters(chapters: Path, sources: Path = ROOT / "notebooks") -> list[Path]:
    """The executed copy of every chapter notebook; a missing, outdated, unfinished or figureless one is a
    ValueError."""
    executed = []
    for source in numbered_notebooks(sources):
        chapter = chapters / source.name
        if not chapter.is_file() or chapter.stat().st_mtime < source.stat().st_mtime:
            state = "is missing" if not chapter.is_file() else "is older than its notebook"
            raise ValueError(f"{chapter} {state}: run `make book`, which executes the chapters that need it")
        notebook = json.loads(chapter.read_text())
        if not ran_to_the_end(notebook):
            raise ValueError(f"{chapter} did not run to the end (a cell failed or the run was stopped): read its "
                             "outputs, then delete it and run `make book`")
        saved = sorted((chapters / "figures").glob(f"{source.name[:2]}_*.png"))
        if saved and not image_outputs(notebook):
            raise ValueError(f"{chapter} saved {len(saved)} figures but shows none: it ran with a matplotlib "
                             "backend that does not display (MPLBACKEND=Agg?); delete it and run `make book`, "
                             "which executes chapters with the inline backend")
        executed.append(chapter)
    if not executed:
        raise ValueError(f"no chapter notebooks NN_name.ipynb in {sources}")
    return executed


def ran_to_the_end(notebook: dict) -> bool:
    """Whether papermill executed every cell of the notebook without an error."""
    cells = notebook["cells"]
    return not notebook["metadata"].get("papermill", {}).get("exception") and \
        all(cell["metadata"].get("papermill", {}).get("status", "completed") == "completed" for cell in cells) and \
        not any(output["output_type"] == "error" for cell in cells for output in cell.get("outputs", []))


def image_outputs(notebook: dict) -> int:
    """How many outputs of the notebook are images."""
    return sum(any(mime.startswith("image/") for mime in output.get("data", {}))
               for cell in notebook["cells"] for output in cell.get("outputs", []))


def page_notebook(notebook: dict) -> dict:
    """The notebook as a page shows it: widgets static, no papermill-injected cell (it holds the build's
    paths), no Colab badge (every notebook page has its own links bar)."""
    notebook["cells"] = [cell for cell in notebook["cells"]
                         if "injected-parameters" not in cell.get("metadata", {}).get("tags", [])]
    for cell in notebook["cells"]:
        if cell["cell_type"] == "markdown":
            cell["source"] = COLAB_BADGE.sub("", static_widgets.joined(cell["source"]))
    static_widgets.make_static(notebook)
    return notebook


def write_if_changed(path: Path, text: str) -> None:
    """Write `text` to `path` unless it holds that already (so Sphinx rebuilds only the pages that changed)."""
    if not path.is_file() or path.read_text() != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def headings(notebook: dict, level: int) -> list[str]:
    """The text of the notebook's markdown headings of one level, in order."""
    prefix = "#" * level + " "
    return [line[len(prefix):].strip() for cell in notebook["cells"] if cell["cell_type"] == "markdown"
            for line in static_widgets.joined(cell["source"]).splitlines() if line.startswith(prefix)]


def notebook_table(folder: str, notebooks: list[Path], repository: str, relative: bool) -> str:
    """A markdown table of the notebooks of `folder`: number, linked title, its sections, a Colab link.

    The titles link to the notebooks' pages from the landing page, or from a page in `folder` if `relative`.
    """
    rows = ["| | notebook | what it covers | |", "| --- | --- | --- | --- |"]
    for path in notebooks:
        notebook = json.loads(path.read_text())
        title = re.sub(r"^\d+\.\s*", "", (headings(notebook, 1) or [path.stem])[0])
        sections = " · ".join(s.replace("|", r"\|") for s in headings(notebook, 2) if s not in SKIPPED_SECTIONS)
        link = f"[{title}]({path.name if relative else f'{folder}/{path.name}'})"
        colab = f"[Open\u00a0in\u00a0Colab]({colab_url(repository, f'{folder}/{path.name}')})"
        rows.append(f"| {int(path.name[:2])} | {link} | {sections} | {colab} |")
    return "\n".join(rows)


def stage(chapters: list[Path], exercises: list[Path], source: Path, repository: str) -> None:
    """Write the Sphinx source tree: the landing page with its chapter table, the chapters, the exercises."""
    wanted = {source / "index.md", source / "exercises" / "index.md"}
    write_if_changed(source / "index.md", (BOOK / "index.md").read_text().replace(
        "<!-- chapter table -->", notebook_table("notebooks", chapters, repository, relative=False)))
    write_if_changed(source / "exercises" / "index.md", (BOOK / "exercises.md").read_text().replace(
        "<!-- exercise table -->", notebook_table("exercises", exercises, repository, relative=True)))
    for folder, notebooks in (("notebooks", chapters), ("exercises", exercises)):
        for path in notebooks:
            target = source / folder / path.name
            write_if_changed(target, json.dumps(page_notebook(json.loads(path.read_text())), indent=1))
            wanted.add(target)
    for stale in [p for p in source.rglob("*") if p.is_file() and p not in wanted]:
        stale.unlink()


def check_out(out: Path) -> None:
    """Refuse an output folder that holds anything but a site built before, so no other file is overwritten."""
    if out.is_file() or (out.is_dir() and any(out.iterdir()) and not (out / ".buildinfo").is_file()):
        raise ValueError(f"--out {out} holds files that are not a site built before; choose a new or empty folder")


def build(chapters: list[Path], exercises: list[Path], out: Path, work: Path) -> Path:
    """Stage executed chapters and exercise notebooks under `work` (a folder of its own: what else is in it
    goes) and build the site into `out`; return the landing page."""
    stage(chapters, exercises, work / "src", repository_url())
    subprocess.run([sys.executable, "-m", "sphinx", "-b", "html", "-q", "-c", str(BOOK), "-d",
                    str(work / "doctrees"), str(work / "src"), str(out)], check=True)
    return out / "index.html"


def main(argv: list[str] | None = None) -> int:
    """Build the site and say where it is."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chapters", type=Path, default=ROOT / "build", help="folder of the executed chapters")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "site", help="folder the site is written to")
    args = parser.parse_args(argv)
    try:
        check_out(args.out)
        chapters = executed_chapters(args.chapters)
        index = build(chapters, numbered_notebooks(ROOT / "exercises"), args.out, ROOT / "build" / "book")
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except subprocess.CalledProcessError:
        print("error: Sphinx could not build the site (its message is above)", file=sys.stderr)
        return 1
    print(f"The book is in {args.out.resolve()}: open {index.resolve()}, or publish the folder as it is")
    return 0


if __name__ == "__main__":
    sys.exit(main())
