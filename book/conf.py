"""Sphinx configuration of the course's website, and the links bar of every notebook page.

Built by `make book` (book/build_book.py) from a staged source tree; nothing is fetched while building,
and the pages load nothing from outside the site (MathJax is served from the site itself).
"""
import shutil
import sys
from pathlib import Path

from docutils import nodes

sys.path.insert(0, str(Path(__file__).resolve().parent))
from build_book import ROOT, colab_url, github_url, repository_url  # noqa: E402

REPOSITORY = repository_url()

project = "Rethinking Generalization"
author = "the Rethinking Generalization authors"
copyright = "the Rethinking Generalization authors, MIT license"

# MyST-NB renders the notebooks as executed by `make run`; MathJax 3 comes from the sphinx-mathjax-offline
# package and is copied into the site, so math renders without a network. githubpages writes .nojekyll, so that
# GitHub Pages serves the folders whose names start with an underscore (_static, _images).
extensions = ["myst_nb", "sphinx-mathjax-offline", "sphinx.ext.githubpages"]
nb_execution_mode = "off"
nb_merge_streams = True
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
myst_dmath_double_inline = True
myst_heading_anchors = 3
# Widget views are replaced by static HTML while staging (static_widgets.py); should one remain, its text
# representation is shown instead, and no widget manager is loaded from a CDN.
nb_mime_priority_overrides = [("*", "application/vnd.jupyter.widget-view+json", None)]
nb_ipywidgets_js = {}

exclude_patterns = ["**/.ipynb_checkpoints"]
html_theme = "sphinx_book_theme"
html_title = project
html_static_path = ["_static"]
html_favicon = "_static/favicon.svg"
html_context = {"default_mode": "light"}  # the theme's default; unset, its script logs an error
html_css_files = ["book.css"]
html_search_scorer = str(Path(__file__).resolve().parent / "search_scorer.js")  # titles naming a query word first
html_copy_source = False  # the staged chapters are not for download; each page links its notebook instead
html_show_sourcelink = False
html_theme_options = {
    "repository_url": REPOSITORY,
    "repository_branch": "main",
    "use_repository_button": True,
    "use_download_button": False,
    "home_page_in_toc": True,
    "show_navbar_depth": 1,
}

LINKS = """<p class="notebook-links">
<a class="notebook-link colab" href="{colab}">Open in Colab</a>
<a class="notebook-link download" href="{download}" download>Download the notebook</a>
<a class="notebook-link github" href="{github}">View on GitHub</a>
</p>"""


def is_notebook(app, docname: str) -> bool:
    """Whether the page `docname` is a notebook (a chapter or an exercise)."""
    return app.env.doc2path(docname).suffix == ".ipynb"


def add_notebook_links(app, doctree) -> None:
    """Put the links bar (Colab, download, GitHub) under the title of a notebook page."""
    docname = app.env.docname
    title = next(iter(doctree.findall(nodes.title)), None)
    if not is_notebook(app, docname) or title is None:
        return
    path = f"{docname}.ipynb"
    links = LINKS.format(colab=colab_url(REPOSITORY, path), download=Path(path).name,
                         github=github_url(REPOSITORY, path))
    title.parent.insert(title.parent.index(title) + 1, nodes.raw("", links, format="html"))


def copy_notebooks(app, exception) -> None:
    """Put each notebook page's notebook, as the repository has it (no outputs), beside the page for download."""
    if exception is not None:
        return
    for docname in app.env.found_docs:
        if is_notebook(app, docname):
            shutil.copyfile(ROOT / f"{docname}.ipynb", Path(app.outdir) / f"{docname}.ipynb")


def setup(app):
    """Register the links bar and the notebook downloads."""
    app.connect("doctree-read", add_notebook_links)
    app.connect("build-finished", copy_notebooks)
