"""``hubpub verify TARBALL``: digest, archive layout, module format, (with --manifest) rebuild
and (with --public-key or --identity) the publisher's signature.

Exit 0 verified, 1 a check failed (mismatch), 2 usage or input error.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hubpub.files.signing import TrustedSigner
    from hubpub.pipelines.verify import VerifyResult

_RED, _GREEN, _RESET = "\x1b[31m", "\x1b[32m", "\x1b[0m"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "verify", help="verify a module tarball: digest, layout, format, reproducible rebuild",
        description="Check a module .tar.gz: its SHA-256 against --sha256 (default: "
                    "TARBALL.sha256 when it exists), the archive layout (as HUB401), that the "
                    "module format reads (protos, checkpoint index, data files), and with "
                    "--manifest that rebuilding it in a temporary folder gives the same bytes; "
                    "when not, which member differs and what differs inside the graph or the "
                    "checkpoint; with --public-key (or --identity/--issuer) that the files are the ones the "
                    "publisher signed, naming any that differ. Exit 0 verified, 1 mismatch "
                    "(or an invalid signature), 2 usage or input error.")
    p.add_argument("tarball", metavar="TARBALL", help="the module .tar.gz")
    p.add_argument("--sha256", type=Path, metavar="FILE",
                   help="a sha256sum-style file with the expected digest")
    p.add_argument("--manifest", type=Path, metavar="MANIFEST",
                   help="rebuild from this manifest and compare the bytes (imports TensorFlow)")
    signed = p.add_argument_group(
        "signature (OpenSSF model signing; needs hubpub[sign])",
        "Check that the tarball holds the files that were signed, by this key or identity.")
    signed.add_argument("--signature", type=Path, metavar="FILE",
                        help="the signature (default with --public-key or --identity: "
                             "TARBALL.sig)")
    signed.add_argument("--public-key", type=Path, metavar="KEY",
                        help="the signer's public key (PEM)")
    signed.add_argument("--identity", metavar="IDENTITY",
                        help="Sigstore keyless: the signer's identity (e-mail or workflow URL)")
    signed.add_argument("--issuer", metavar="URL",
                        help="Sigstore keyless: the identity's OIDC issuer")
    p.add_argument("--format", choices=("text", "json"), default="text",
                   help="text (default) or json: {tarball, verified, checks[]}")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from hubpub.commands._console import StepProgress, use_colour
    from hubpub.pipelines.verify import verify_tarball

    if args.manifest is not None:
        from hubpub.manifest import load_manifest

        load_manifest(args.manifest)  # a typo fails before the tarball is read
    progress = StepProgress(sys.stderr, quiet=args.quiet or args.manifest is None)
    try:
        result = verify_tarball(args.tarball, sha256_file=args.sha256, manifest=args.manifest,
                                progress=progress, signature=_signature(args))
    finally:
        progress.finish()
    if args.format == "json":
        print(json.dumps(result.to_json(), indent=2))
    else:
        sys.stdout.write(render_text(result, color=use_colour(sys.stdout)))
    return 0 if result.ok else 1


def _signature(args: argparse.Namespace) -> tuple[Path, TrustedSigner] | None:
    """The --signature/--public-key/--identity/--issuer flags, or None when none is given."""
    from hubpub.errors import HubpubError
    from hubpub.files.signing import TrustedSigner, signature_beside

    if not (args.public_key or args.identity or args.signature or args.issuer):
        return None
    if not (args.public_key or args.identity):
        raise HubpubError("--signature needs --public-key KEY, or --identity and --issuer "
                          "(Sigstore keyless), to say whose signature is valid")
    signer = TrustedSigner(public_key=args.public_key, identity=args.identity,
                           issuer=args.issuer)
    return args.signature or Path(signature_beside(args.tarball)), signer


def render_text(result: VerifyResult, *, color: bool = False) -> str:
    lines = []
    for check in result.checks:
        label = "ok      " if check.ok else "MISMATCH"
        if color:
            label = f"{_GREEN if check.ok else _RED}{label}{_RESET}"
        lines.append(f"  {label}  {check.name}: {check.message}")
        lines += [f"              {detail}" for detail in check.details]
    verdict = "verified" if result.ok else "NOT verified"
    if color:
        verdict = f"{_GREEN if result.ok else _RED}{verdict}{_RESET}"
    return f"{result.tarball}\n" + "\n".join(lines) + f"\n{verdict}\n"
