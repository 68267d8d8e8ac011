"""A griffe extension for the docs build: loom's ``Example:`` sections read as Google-style ``Examples:``.

griffe treats a singular ``Example:`` heading as an admonition (plain Markdown, where ``>>>`` starts a quote);
as ``Examples:`` the doctest lines render as Python code blocks. Loaded by ``mkdocs.yml``.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_HEADING = re.compile(r"^(\s*)Example:\s*$", re.MULTILINE)


class ExampleSections(griffe.Extension):
    """Rename each ``Example:`` heading of a docstring to ``Examples:`` when the object is loaded."""

    def on_instance(self, *, obj: Any, **kwargs: Any) -> None:
        docstring = getattr(obj, "docstring", None)
        if docstring is not None and "Example:" in docstring.value:
            docstring.value = _HEADING.sub(r"\1Examples:", docstring.value)
