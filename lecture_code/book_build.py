"""Sphinx extension loaded by the book build (listed in ``_config.yml``).

It does two things:

* it marks the environment of the build, which the notebook kernels
  inherit, so that :mod:`lecture_code.animation` knows it is rendering the
  static HTML book: there an animation must play without a kernel, and no
  widget may look live while doing nothing;
* it drops the Thebe loader that Jupyter Book 1 adds to every page (twice,
  which the browser reports as an error) although live code in the page is
  off in this book: the loader would point at a CDN and do nothing offline.
"""

import os

STATIC_BUILD_VARIABLE = "LECTURE_CODE_STATIC_BOOK"


def is_static_build():
    """Return True inside a kernel started by the HTML book build."""
    return os.environ.get(STATIC_BUILD_VARIABLE) == "1"


def _is_thebe(asset):
    """True for Thebe's script or style sheet, or its inline configuration."""
    name = str(getattr(asset, "filename", None) or asset or "")
    body = getattr(asset, "attributes", {}).get("body", "")
    return "thebe" in name or "THEBE_JS_URL" in body


def _drop_thebe(app, pagename, templatename, context, doctree):
    for key in ("script_files", "css_files"):
        if key in context:
            context[key] = [asset for asset in context[key] if not _is_thebe(asset)]


def setup(app):
    """Sphinx entry point: set the marker before any notebook executes."""
    os.environ[STATIC_BUILD_VARIABLE] = "1"
    app.connect("html-page-context", _drop_thebe, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
