"""Jinja2 templates + spec summary + metadata -> the files of a docs page.

Templates live in the package (``hubpub.templates``, directory ``docs/``). A publisher's own
template (manifest ``docs.template``) is looked up first, so it can ``{% extends
"markdown.md.j2" %}`` and override single blocks (``title``, ``description``, ``metadata``,
``overview``, ``variants``, ``signatures``, ``fine_tuning``, ``assets``, ``changes``,
``download``, ``usage``), or replace the page entirely. Variables a template sees:

- ``module``: ``DocMeta.for_page()`` (publisher, name, version, handle, description, license,
  fine_tunable, fine_tunable_text, task, dataset, architecture, language,
  learning_rate_note, asset_path, kaggle_instance, claims); unknown values are placeholders.
- ``summary``: the spec summary (``hubpub.docs.summary``).
- ``variants``: per variant the summary entry plus ``label`` and ``use``.
- ``signatures``: per signature ``name``, ``claim``, ``image_size`` and ``groups`` (variants
  with identical inputs and outputs share one table: ``labels``, ``inputs``, ``outputs``).
- ``fine_tuning``: the summary entry of the variant to train, plus ``label`` and ``fine_tunable``.
- ``tarball``: ``{name, size, sha256}`` from the build report, or None.
- ``changes``: the build report's ``previous`` entry (``previous``, ``verdict``, ``changes``,
  ``breaking_ok``): the diff against the release the manifest names, or None.
- ``usage``: ``hubpub.docs.snippets.build_usage()`` (handle, tf1, tf1_fine_tuning, tf2, ...).
- filters ``shape``, ``number``, ``bytes``, ``tags``, ``cell``; ``keep(name)`` writes the
  markers of a hand-written section (``hubpub.docs.markers``).

Rendering is deterministic (no dates, no versions of tools) so that ``--check`` can compare.
"""

from __future__ import annotations

import importlib.resources
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2

from hubpub.docs import kaggle, markers
from hubpub.docs.meta import DocMeta, ManifestFields
from hubpub.docs.snippets import build_usage
from hubpub.errors import PublisherCodeError

if TYPE_CHECKING:
    from hubpub.spec.view import ModuleView

__all__ = ["FORMATS", "default_handle", "file_names", "render_docs", "render_summary",
           "tarball_facts", "tf2_facts"]

FORMATS = ("markdown", "tfhub", "kaggle")
MARKDOWN_FILE = "README.md"
_TEMPLATE_DIR = "docs"


def render_docs(view: ModuleView, manifest_or_meta: ManifestFields | DocMeta, *, fmt: str = "markdown",
                build_report: Mapping[str, Any] | None = None, handle: str | None = None,
                existing: Mapping[str, str] | None = None) -> dict[str, str]:
    """The files of the docs page of a module: file name -> content.

    Args:
        view: a ``ModuleView`` of the module (built spec, directory or tarball).
        manifest_or_meta: a ``Manifest`` or a ``DocMeta``.
        fmt: ``markdown`` (``README.md``), ``tfhub`` (``<version>.md``) or ``kaggle``
            (``model-instance-metadata.json`` and ``usage.md``).
        build_report: the parsed ``build-report.json``, for the tarball's size and SHA-256.
        handle: what the snippets load; default: the tarball name from the manifest.
        existing: current content of the files (by name), whose hand-written sections are kept.
    """
    from hubpub.docs.summary import summarize

    meta = (manifest_or_meta if isinstance(manifest_or_meta, DocMeta)
            else DocMeta.from_manifest(manifest_or_meta))
    return render_summary(summarize(view), meta, fmt=fmt, build_report=build_report,
                          handle=handle, existing=existing)


def render_summary(summary: Mapping[str, Any], meta: DocMeta, *, fmt: str = "markdown",
                   build_report: Mapping[str, Any] | None = None, handle: str | None = None,
                   existing: Mapping[str, str] | None = None) -> dict[str, str]:
    """Like ``render_docs`` from a spec summary; needs no TensorFlow."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown docs format {fmt!r}; expected one of {', '.join(FORMATS)}")
    context = _context(summary, meta, build_report, handle or default_handle(meta))
    env = _environment(meta.template)
    existing = existing or {}
    if fmt == "markdown":
        name = meta.template.name if meta.template else "markdown.md.j2"
        files = {MARKDOWN_FILE: _render(env, name, context, meta.template)}
    elif fmt == "tfhub":
        files = {file_names(fmt, meta)[0]: _render(env, "tfhub.md.j2", context)}
    else:
        usage = _render(env, "kaggle_usage.md.j2", context)
        overview = _render(env, "kaggle_overview.md.j2", context)
        files = {kaggle.METADATA_FILE: kaggle.instance_metadata(context["module"],
                                                                overview=overview, usage=usage),
                 kaggle.USAGE_FILE: usage}
        if context["tf2"]:
            usage = _render(env, "kaggle_tf2_usage.md.j2", context)
            files[f"{kaggle.TF2_FOLDER}/{kaggle.METADATA_FILE}"] = kaggle.instance_metadata(
                context["module"], overview=overview, usage=usage,
                framework=kaggle.TF2_FRAMEWORK)
            files[f"{kaggle.TF2_FOLDER}/{kaggle.USAGE_FILE}"] = usage
    out = {}
    for name, text in files.items():
        if name in existing and name.endswith(".md"):
            text = markers.merge_sections(text, markers.parse_sections(existing[name], name), name)
        out[name] = text
    return out


def file_names(fmt: str, meta: DocMeta, build_report: Mapping[str, Any] | None = None
               ) -> list[str]:
    """Names of the files a format writes (tfhub.dev wants ``<version>.md``); for Kaggle, a
    build with a TF2 export adds the files of its TensorFlow2 instance."""
    if fmt == "kaggle":
        names = [kaggle.METADATA_FILE, kaggle.USAGE_FILE]
        if tf2_facts(build_report):
            names += [f"{kaggle.TF2_FOLDER}/{name}" for name in names]
        return names
    if fmt == "tfhub":
        return [f"{meta.version if meta.version is not None else 1}.md"]
    return [MARKDOWN_FILE]


def default_handle(meta: DocMeta) -> str:
    """The tarball ``hubpub build`` writes, by name: what a consumer downloads and loads."""
    if meta.publisher and meta.name and meta.version is not None:
        return f"{meta.publisher}-{meta.name.replace('/', '-')}-{meta.version}.tar.gz"
    return "path/to/module"


def tarball_facts(build_report: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """``{name, size, sha256}`` of the built tarball from ``build-report.json``.

    Reads ``report["tarball"]``: ``file`` (its name), ``bytes`` and ``sha256``, as
    ``hubpub build`` writes them; returns None when the report has no complete entry.
    """
    entry = (build_report or {}).get("tarball")
    if not isinstance(entry, Mapping):
        return None
    name, size, sha256 = entry.get("file"), entry.get("bytes"), entry.get("sha256")
    if not name or size is None or not sha256:
        return None
    return {"name": Path(str(name)).name, "size": int(size), "sha256": str(sha256)}


def tf2_facts(build_report: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """``{name, size, sha256, dir}`` of the TF2 export from ``build-report.json``, or None.

    Reads ``report["tf2"]``: ``dir`` (the folder's name) and ``tarball`` as in
    :func:`tarball_facts`.
    """
    entry = (build_report or {}).get("tf2")
    if not isinstance(entry, Mapping) or not entry.get("dir"):
        return None
    tarball = tarball_facts({"tarball": entry.get("tarball")})
    return {**tarball, "dir": Path(str(entry["dir"])).name} if tarball else None


# --- context -------------------------------------------------------------------------------
def _tags_label(tags: Sequence[str]) -> str:
    return f"`{_tags(tags)}`" if tags else "no tags (default)"


def _context(summary: Mapping[str, Any], meta: DocMeta, build_report: Mapping[str, Any] | None,
             handle: str) -> dict[str, Any]:
    module = meta.for_page()
    tune_tags = list(summary["fine_tune_variant"])
    variants = []
    for entry in summary["variants"]:
        use = "training" if entry["is_train"] else "inference"
        if list(entry["tags"]) == tune_tags and not entry["is_train"]:
            use = "inference and fine-tuning"
        variants.append({**entry, "label": _tags_label(entry["tags"]), "use": use})
    fine_tuning = next(v for v in variants if list(v["tags"]) == tune_tags)
    tf2 = tf2_facts(build_report)
    return {
        "module": module,
        "summary": summary,
        "variants": variants,
        "signatures": _signatures(summary, variants, module["claims"]),
        "fine_tuning": {**fine_tuning, "fine_tunable": meta.fine_tunable},
        "tarball": tarball_facts(build_report),
        "changes": (build_report or {}).get("previous"),
        "tf2": tf2,
        "usage": build_usage(summary, handle, tf2_handle=tf2["dir"] if tf2 else None),
    }


def _signatures(summary: Mapping[str, Any], variants: Sequence[Mapping[str, Any]],
                claims: Mapping[str, str]) -> list[dict[str, Any]]:
    out = []
    for name in summary["signatures"]:
        groups: list[dict[str, Any]] = []
        for variant in variants:
            sig = variant["signatures"].get(name)
            if sig is None:
                continue
            same = next((g for g in groups if g["inputs"] == sig["inputs"]
                         and g["outputs"] == sig["outputs"]
                         and g["image_size"] == sig["image_size"]), None)
            if same:
                same["labels"].append(variant["label"])
            else:
                groups.append({"labels": [variant["label"]], "inputs": sig["inputs"],
                               "outputs": sig["outputs"], "image_size": sig["image_size"]})
        sizes = [g["image_size"] for g in groups if g["image_size"]]
        out.append({"name": name, "claim": claims.get(name), "groups": groups,
                    "image_size": sizes[0] if sizes else None,
                    "in_all_variants": sum(len(g["labels"]) for g in groups) == len(variants)})
    return out


# --- filters -------------------------------------------------------------------------------
def _shape(shape: Sequence[int | None] | None) -> str:
    if shape is None:
        return "unknown rank"
    return "[" + ", ".join("None" if d is None else str(d) for d in shape) + "]"


def _number(value: int | None) -> str:
    return "unknown" if value is None else f"{value:,}"


def _bytes(value: int | None) -> str:
    if value is None:
        return "unknown"
    size, unit = float(value), "bytes"
    for next_unit in ("KiB", "MiB", "GiB"):
        if size < 1024:
            break
        size, unit = size / 1024, next_unit
    return f"{value:,} bytes" if unit == "bytes" else f"{value:,} bytes ({size:.1f} {unit})"


def _tags(tags: Sequence[str]) -> str:
    """A Python set literal, as hub.Module's ``tags=`` takes it."""
    return "{" + ", ".join(f'"{t}"' for t in tags) + "}" if tags else "set()"


def _cell(text: Any) -> str:
    """Text safe inside a Markdown table cell."""
    return str(text).replace("|", "\\|").replace("\n", " ")


# --- templates -----------------------------------------------------------------------------
def _builtin_source(name: str) -> tuple[str, str, Any] | None:
    resource = importlib.resources.files("hubpub.templates").joinpath(_TEMPLATE_DIR).joinpath(name)
    if not resource.is_file():
        return None
    return resource.read_text(encoding="utf-8"), f"hubpub.templates/{_TEMPLATE_DIR}/{name}", None


def _environment(template: Path | None) -> jinja2.Environment:
    loaders: list[jinja2.BaseLoader] = []
    if template is not None:
        loaders.append(jinja2.FileSystemLoader(str(template.parent)))
    loaders.append(jinja2.FunctionLoader(_builtin_source))
    env = jinja2.Environment(  # Markdown, not HTML: no autoescaping
        loader=jinja2.ChoiceLoader(loaders), autoescape=False,
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
        keep_trailing_newline=True)
    env.filters.update(shape=_shape, number=_number, bytes=_bytes, tags=_tags, cell=_cell)
    env.globals.update(keep=markers.keep_marker, end_keep=markers.END_MARKER)
    return env


def _render(env: jinja2.Environment, name: str, context: Mapping[str, Any],
            publisher_template: Path | None = None) -> str:
    if publisher_template is None:
        return env.get_template(name).render(context)
    # The publisher's template is their input: point errors at its file and line.
    try:
        return env.get_template(name).render(context)
    except jinja2.TemplateNotFound as exc:
        raise PublisherCodeError(f"docs template {exc.name!r} not found next to "
                                 f"{publisher_template}; check docs.template in the manifest",
                                 path=str(publisher_template)) from exc
    except jinja2.TemplateSyntaxError as exc:
        raise PublisherCodeError(f"docs template syntax error: {exc.message}",
                                 path=exc.filename or str(publisher_template),
                                 line=exc.lineno) from exc
    except jinja2.UndefinedError as exc:
        path, line = _template_frame(exc, publisher_template)
        raise PublisherCodeError(f"docs template uses an undefined value: {exc.message}; "
                                 f"see the variables listed in hubpub.docs.render",
                                 path=path, line=line) from exc


def _template_frame(exc: BaseException, template: Path) -> tuple[str, int | None]:
    """The innermost traceback frame inside the publisher's template directory."""
    found: tuple[str, int | None] = (str(template), None)
    tb = exc.__traceback__
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if Path(filename).parent == template.parent:
            found = (filename, tb.tb_lineno)
        tb = tb.tb_next
    return found
