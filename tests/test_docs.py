"""The docs site: built by mkdocs + mkdocstrings from the docstrings, without a warning (strict)."""

import inspect
import os
import re
import subprocess
import sys

import pytest

import loom

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))

from gen_docs_pages import public_layers, render  # noqa: E402


def _sections(obj):
    from griffe import Docstring
    doc = re.sub(r"^(\s*)Example:\s*$", r"\1Examples:", inspect.getdoc(obj) or "", flags=re.M)
    return {section.kind.value: section for section in Docstring(doc).parse("google")}


def _documented(sections):
    names = set()
    for item in getattr(sections.get("parameters"), "value", []):
        names |= {n.strip() for n in item.name.split(",")}
    return names


def _arguments(function):
    return [p.name for p in inspect.signature(function).parameters.values()
            if p.name != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)]


@pytest.mark.slow
def test_mkdocs_build_is_strict_clean(tmp_path):
    pytest.importorskip("mkdocs")
    pytest.importorskip("mkdocstrings_handlers.python")
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
                            cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-4000:]
    assert "WARNING" not in result.stderr, result.stderr[-4000:]
    page = (tmp_path / "api" / "models" / "index.html").read_text()
    assert "fit" in page and "Returns" in page and "Raises" in page
    layers = (tmp_path / "api" / "layers" / "index.html").read_text()
    assert "Conv2D" in layers and "kernel_size" in layers


def test_layers_page_lists_every_public_layer():
    with open(os.path.join(ROOT, "docs", "api", "layers.md"), encoding="utf-8") as f:
        assert f.read() == render(public_layers()), "run: python scripts/gen_docs_pages.py"


@pytest.mark.parametrize("method", ["fit", "evaluate", "predict"])
def test_fit_evaluate_predict_document_args_returns_raises(method):
    function = getattr(loom.Model, method)
    sections = _sections(function)
    assert {"parameters", "returns", "raises", "examples"} <= set(sections), sorted(sections)
    assert set(_arguments(function)) <= _documented(sections)


BASES = {"Layer", "RecurrentLayer", "InputSpec"}  # base classes: documented, but no shapes of their own
BASE_ARGUMENTS = set(_arguments(loom.layers.Layer.__init__))


def _public_layer_names():
    return [name for names in public_layers().values() for name in names]


@pytest.mark.parametrize("name", sorted(set(_public_layer_names()) - BASES))
def test_every_public_layer_documents_args_shapes_returns_and_an_example(name):
    cls = getattr(loom.layers, name)
    sections = _sections(cls)
    doc = inspect.getdoc(cls)
    assert {"returns", "examples"} <= set(sections), sorted(sections)
    assert "Input shape:" in doc and "Output shape:" in doc
    missing = set(_arguments(cls.__init__)) - BASE_ARGUMENTS - _documented(sections)
    assert not missing, f"{name} does not document {sorted(missing)}"


@pytest.mark.parametrize("name", ["Layer", "InputSpec"])
def test_base_classes_document_every_argument(name):
    cls = getattr(loom.layers, name)
    assert set(_arguments(cls.__init__)) <= _documented(_sections(cls))


def test_conv2d_documents_its_own_arguments():
    documented = _documented(_sections(loom.layers.Conv2D))
    assert {"filters", "kernel_size", "strides", "padding", "groups", "kernel_initializer"} <= documented
    assert "BaseConv" not in inspect.getdoc(loom.layers.Conv2D)
