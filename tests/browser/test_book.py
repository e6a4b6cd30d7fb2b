"""The course's website in a real browser: every page `make book` wrote into build/site, served on 127.0.0.1.

Each page fails on a console error, a request that fails or leaves the site, an image that does not load,
an internal link that does not resolve, math that MathJax left unrendered, or a widget left as a
placeholder; a notebook page also on a wrong Colab, GitHub or download link, a chapter page on missing
figures. Searching for "random labels" finds chapter 6 among the first three results. `make test` builds
the book first; before running this file alone, run `make book`. One more test executes the first chapter
with its widgets on and builds a book of it alone, to see its progress bars, sliders and quick checks
drawn from their saved state.
"""
from __future__ import annotations

import contextlib
import functools
import http.server
import json
import os
import re
import subprocess
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "build" / "site"
sys.path.insert(0, str(ROOT / "book"))
import build_book  # noqa: E402

REPOSITORY = build_book.repository_url()
NOTEBOOK_PAGES = [f"{folder}/{path.stem}.html" for folder in ("notebooks", "exercises")
                  for path in build_book.numbered_notebooks(ROOT / folder)]
PAGES = ["index.html", "exercises/index.html", "search.html", "genindex.html", *NOTEBOOK_PAGES]
WIDGET_LEFTOVERS = re.compile(r"Error displaying widget|Loading widget|model not found|"
                              r"\b(?:HBox|VBox|interactive)\(children=")
RAW_TEX = re.compile(r"\\\(|\\\[|\$\$|\$[^$\n]*\\[A-Za-z]+[^$\n]*\$")
ARTICLE_TEXT = """() => {
    const article = document.querySelector("article").cloneNode(true);
    article.querySelectorAll("pre, code, script, mjx-container, .highlight").forEach(e => e.remove());
    return article.textContent;
}"""


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Serves a folder without logging every request."""

    def log_message(self, format: str, *args) -> None:
        pass


@contextlib.contextmanager
def serve(folder: Path) -> Iterator[str]:
    """Serve `folder` over HTTP on 127.0.0.1 and a free port, in a thread stopped at the end; yield its URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    """The URL of build/site, served for this module's tests."""
    if not (SITE / "index.html").is_file():
        pytest.fail(f"no site in {SITE}: build it with `make book` (make test does)")
    with serve(SITE) as url:
        yield url


@pytest.fixture
def visit(browser) -> Iterator[Callable]:
    """visit(url) opens a page in a fresh browser context, waits for its math, and returns (page, problems):
    console errors, uncaught exceptions, failed requests, and requests that leave the served site (refused)."""
    contexts = []

    def open_page(url: str):
        context = browser.new_context(viewport={"width": 1300, "height": 900})
        contexts.append(context)
        problems: list[str] = []
        local = url[:url.index("/", len("http://")) + 1]

        def keep_local(route):
            if route.request.url.startswith((local, "data:")):
                return route.continue_()
            problems.append(f"request outside the site: {route.request.url}")
            return route.abort()

        context.route("**/*", keep_local)
        page = context.new_page()
        page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(f"uncaught: {e}"))
        page.on("requestfailed", lambda r: problems.append(f"failed: {r.url} ({r.failure})"))
        page.on("response", lambda r: problems.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None)
        page.goto(url, wait_until="networkidle")
        page.evaluate("() => window.MathJax?.startup?.promise")
        return page, problems

    yield open_page
    for context in contexts:
        context.close()


@functools.cache
def fetch(url: str) -> bytes:
    """The body of `url` (an HTTPError for a status of 400 or more)."""
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.read()


def broken_link(url: str) -> str | None:
    """What is wrong with an internal link: its page does not load or has no element with the fragment's id."""
    address, _, fragment = url.partition("#")
    try:
        body = fetch(address)
    except urllib.error.HTTPError as err:
        return f"{url}: HTTP {err.code}"
    if fragment and f'id="{urllib.parse.unquote(fragment)}"'.encode() not in body:
        return f"{url}: no element with id {fragment!r}"
    return None


def image_problems(page) -> list[str]:
    """The images of `page` that did not load."""
    return [f"image did not load: {src}" for src in page.eval_on_selector_all(
        "img", "imgs => imgs.filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src)")]


def widget_problems(page) -> list[str]:
    """Widgets of `page` left as placeholders, as their text representation or as scripts for a widget manager."""
    problems = [f"widget placeholder: {m}" for m in WIDGET_LEFTOVERS.findall(page.inner_text("body"))]
    if page.locator("script[type^='application/vnd.jupyter.widget']").count():
        problems.append("a widget view or state script is left in the page")
    return problems


def page_problems(page, site: str) -> list[str]:
    """Images that did not load, broken internal links, unrendered math and widget leftovers on `page`."""
    problems = image_problems(page) + widget_problems(page)
    links = set(page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)"))
    problems += filter(None, (broken_link(url) for url in sorted(links) if url.startswith(site)))
    if page.locator(".math").count():
        problems += [f"math not rendered: {text}" for text in page.eval_on_selector_all(
            ".math", "ms => ms.filter(m => !m.querySelector('mjx-container')).map(m => m.textContent)")]
        problems += [f"math error: {e}" for e in page.locator("mjx-merror").all_text_contents()]
    if page.locator("article").count():
        problems += [f"raw TeX in the text: {tex!r}" for tex in RAW_TEX.findall(page.evaluate(ARTICLE_TEXT))]
    return problems


def notebook_link_problems(page, path: str) -> list[str]:
    """What is wrong with the Colab, GitHub and download links of the notebook page at `path`."""
    notebook = path.removesuffix(".html") + ".ipynb"
    expected = {"colab": build_book.colab_url(REPOSITORY, notebook),
                "github": build_book.github_url(REPOSITORY, notebook)}
    found = {kind: page.locator(f"a.notebook-link.{kind}").get_attribute("href") for kind in expected}
    problems = [f"{kind} link {found[kind]!r}, not {url!r}" for kind, url in expected.items() if found[kind] != url]
    with page.expect_download() as download:
        page.locator("a.notebook-link.download").click()
    if Path(download.value.path()).read_bytes() != (ROOT / notebook).read_bytes():
        problems.append(f"the download is not {notebook}")
    return problems


def figure_problems(page, path: str) -> list[str]:
    """A chapter page that shows fewer figures than its run saved (or none)."""
    saved = len(list((ROOT / "build" / "figures").glob(f"{Path(path).name[:2]}_*.png")))
    shown = page.eval_on_selector_all(".cell_output img", "imgs => imgs.filter(i => i.naturalWidth > 0).length")
    return [] if shown >= max(saved, 1) else [f"shows {shown} figures; its run saved {saved}"]


@pytest.mark.parametrize("path", PAGES)
def test_page(path: str, site: str, visit) -> None:
    page, problems = visit(site + path)
    assert page.title(), f"{path} has no title"
    problems += page_problems(page, site)
    if path in NOTEBOOK_PAGES:
        problems += notebook_link_problems(page, path)
    if path.startswith("notebooks/"):
        problems += figure_problems(page, path)
    assert not problems, f"{path}:\n" + "\n".join(problems)


def test_every_page_of_the_site_is_tested() -> None:
    built = {p.relative_to(SITE).as_posix() for p in SITE.rglob("*.html") if "_static" not in p.parts}
    assert built == set(PAGES), f"built but not tested: {sorted(built - set(PAGES))}; " \
                                f"tested but not built: {sorted(set(PAGES) - built)}"


def test_search_for_random_labels_finds_chapter_6(site: str, visit) -> None:
    page, problems = visit(site + "index.html")
    page.keyboard.press("Control+k")
    page.keyboard.type("random labels")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/search\.html\?q=random"))
    page.locator("#search-results ul.search li a").first.wait_for()
    found = page.eval_on_selector_all("#search-results ul.search li a", "links => links.map(a => a.href)")
    chapter_6, = [p for p in NOTEBOOK_PAGES if p.startswith("notebooks/06_")]
    assert site + chapter_6 in found[:3], f"{chapter_6} is not among the first three results: {found}"
    assert not problems, "\n".join(problems)


def test_widgets_show_what_they_last_showed(tmp_path: Path, visit) -> None:
    chapter = build_book.numbered_notebooks(ROOT / "notebooks")[0]
    env = os.environ | {"MPLBACKEND": "module://matplotlib_inline.backend_inline",
                        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    subprocess.run([sys.executable, "-m", "d2lutil", "run", str(chapter), "-p", "progress", "true",
                    "-p", "interactive", "true", "--out", str(tmp_path / "run"), "--no-progress"],
                   env=env, check=True, capture_output=True)
    executed = json.loads((tmp_path / "run" / chapter.name).read_text())
    models = executed["metadata"]["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    sliders = [m["state"] for m in models.values() if m["model_name"].endswith("SliderModel")]
    progress = [re.search(r"\d+/\d+ epochs", "".join(output["data"]["text/plain"])).group()
                for cell in executed["cells"] for output in cell.get("outputs", [])
                if output.get("output_type") == "display_data" and " epochs" in "".join(output.get("data", {}).get("text/plain", ""))]
    assert progress and sliders, f"{chapter.name} with progress and interactive shows no progress line or no slider"

    build_book.build([tmp_path / "run" / chapter.name], [], tmp_path / "site", tmp_path / "work")
    with serve(tmp_path / "site") as url:
        page, problems = visit(f"{url}notebooks/{chapter.stem}.html")
        text = page.inner_text("article")
        problems += image_problems(page) + widget_problems(page)
        page.screenshot(path=str(tmp_path / "widgets.png"), full_page=True)
    assert not problems, "\n".join(problems)
    for line in progress:  # the progress lines are text, shown as they ended
        assert line in text, f"no progress line {line!r}"
    for slider in sliders:
        assert f"{slider['description']}: " in text, f"no slider {slider['description']!r} with its value"
