"""``hubpub convert SOURCE OUT``: a TF1 Hub module as a TF2 Reusable SavedModel.

SOURCE is a module directory, ``.tar.gz``, URL or manifest (built in a private temporary
folder first). The export is smoke-tested in a fresh process against the TF1 module unless
``--no-smoke-test``.
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from hubpub.commands.lint import add_timeout_argument

if TYPE_CHECKING:
    from hubpub.checks.config import LintConfig
    from hubpub.manifest import Manifest
    from hubpub.pipelines.convert import ConvertResult
    from hubpub.spec.view import ModuleView


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "convert", help="write a TF1 Hub module as a TF2 SavedModel that Keras fine-tunes",
        description="Convert a TF1 Hub format module (directory, .tar.gz, URL, or the manifest "
                    "of one) into a TF2 Reusable SavedModel for hub.KerasLayer and "
                    "tf.saved_model.load: __call__ with training=, one set of variables, "
                    "regularization losses, batch-norm updates when training, and every "
                    "signature. Exit 0 converted, 1 the smoke test found differences, 2 usage "
                    "or input error (including a module TF2 cannot express).")
    p.add_argument("source", metavar="SOURCE",
                   help="hubpub.yaml, a module directory, a module .tar.gz or a URL")
    p.add_argument("out", type=Path, metavar="OUT", help="the directory to write (must not exist)")
    p.add_argument("--no-smoke-test", action="store_true",
                   help="skip comparing the export with the TF1 module in a fresh process")
    p.add_argument("--option", action="append", default=[], metavar="CODE.NAME=VALUE",
                   help="a lint rule option, e.g. HUB301.allow=OP to run a module with an op "
                        "you trust; repeatable")
    add_timeout_argument(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from hubpub.checks.config import LintConfig, config_from_manifest, with_overrides
    from hubpub.errors import ExportError
    from hubpub.target import is_manifest

    if args.out.exists():
        raise ExportError(f"{args.out} already exists; choose a new OUT directory")
    manifest = None
    if is_manifest(args.source):
        from hubpub.manifest import load_manifest

        manifest = load_manifest(args.source)  # before TensorFlow: a typo fails fast
    config = with_overrides(config_from_manifest(manifest) if manifest else LintConfig(),
                            option=args.option)
    from hubpub.execution.publisher import time_limit

    with time_limit(args.timeout), _module_directory(args.source, manifest, config) as folder:
        result = _convert(folder, args, config)
    print(f"converted {args.source} -> {result.out_dir}")
    print(f"  variables {result.variables} ({result.trainable_variables} trainable), "
          f"regularization losses {result.regularization_losses}, "
          f"update ops {result.update_ops}, signatures {', '.join(result.signatures)}")
    for note in result.left_out.values():
        print(f"  left out {note}: TF2 serving signatures take dense tensors only")
    return 0


def _convert(module_dir: Path, args: argparse.Namespace, config: LintConfig) -> ConvertResult:
    """Refuse modules hubpub does not run, convert, then smoke-test the export."""
    from hubpub.errors import CheckFailure
    from hubpub.execution.smoke import start_smoke_test
    from hubpub.pipelines.convert import convert_in_fresh_process
    from hubpub.target import load_view

    _refuse_unsafe(load_view(str(module_dir)), config)
    # Converting runs the module: in a confined child, as the smoke test.
    result = convert_in_fresh_process(module_dir, args.out, source=args.source,
                                      timeout=args.timeout)
    if not args.no_smoke_test:
        smoke = start_smoke_test(module_dir, result.out_dir, timeout=args.timeout).wait()
        if not smoke.ok:
            raise CheckFailure("the TF2 export failed its smoke test:\n  "
                               + "\n  ".join(smoke.problems))
    return result


def _refuse_unsafe(view: ModuleView, config: LintConfig) -> None:
    from hubpub.checks.engine import execution_blockers, refusal
    from hubpub.errors import CheckFailure

    blockers = execution_blockers(view, config)
    if blockers:
        raise CheckFailure(refusal(blockers, "conversion"), findings=blockers)


@contextlib.contextmanager
def _module_directory(source: str, manifest: Manifest | None, config: LintConfig
                      ) -> Iterator[Path]:
    """A TF1 module directory for SOURCE; a manifest's module is exported to a temp folder
    (after the same execution gate as ``hubpub build``)."""
    from hubpub.target import module_directory

    with module_directory(source, manifest=manifest,
                          before_export=lambda view: _refuse_unsafe(view, config)) as folder:
        yield folder
