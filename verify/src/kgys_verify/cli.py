"""The command line: ``kgys-verify PACKAGE [--key PUBLIC_KEY.pem]``.

Exit codes: 0 everything holds and the package is signed by the published key given with ``--key``; 1 something
does not hold (or the package cannot be read); 2 the command line was wrong; 3 everything in the package holds
but no published key was given, so who signed it was not established.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from kgys_verify import __version__
from kgys_verify.package import verify_package
from kgys_verify.report import EXIT_FAILED, EXIT_USAGE, Report


def parser() -> argparse.ArgumentParser:
    """The command line's options."""
    p = argparse.ArgumentParser(
        prog="kgys-verify",
        description="Check a kgys evidence package: every file's SHA-256 and size, that no file is missing or "
                    "added, the recording's segment chain, the Ed25519 signature of the manifest, and the audit "
                    "entries of the release against their signed checkpoints.",
        epilog="Exit status: 0 verified against the published key; 1 something does not hold; 2 wrong command "
               "line; 3 intact, but no published key was given (--key).")
    p.add_argument("package", type=Path, help="the package: the .zip file, or the folder it was unpacked into")
    p.add_argument("--key", type=Path, metavar="PUBLIC_KEY.pem",
                   help="the public key the operator published (PEM); without it the key inside the package is "
                        "used and the result says that who signed was not established")
    p.add_argument("--quiet", action="store_true", help="print only what does not hold, and the result")
    p.add_argument("--json", action="store_true", help="print the findings as JSON instead of text")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="files hashed at once (default: one per processor, at most 8)")
    p.add_argument("--version", action="version", version=f"kgys-verify {__version__}")
    return p


def as_json(report: Report) -> str:
    """The report as a JSON document (for tools; the text report is for people)."""
    return json.dumps({
        "package": report.package, "verified": report.exit_code == 0, "intact": report.ok,
        "key_checked": report.key_checked, "exit_code": report.exit_code, "about": report.about,
        "entries": report.entries, "counts": report.counts, "result": report.result(),
        "findings": [{"status": f.status.value, "subject": f.subject, "text": f.text} for f in report.findings],
    }, ensure_ascii=False, indent=2) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the check and print the report; returns the exit status."""
    args = parser().parse_args(argv)
    if args.workers is not None and args.workers < 1:
        print("kgys-verify: --workers must be at least 1", file=sys.stderr)
        return EXIT_USAGE
    published = None
    if args.key is not None:
        try:
            published = args.key.read_bytes()
        except OSError as exc:
            print(f"kgys-verify: cannot read the key file {args.key}: {exc.strerror or exc}", file=sys.stderr)
            return EXIT_FAILED
    report = verify_package(args.package, published_key=published, key_source=str(args.key or ""),
                            workers=args.workers)
    if hasattr(sys.stdout, "reconfigure"):  # a console that cannot show a name prints "?" rather than fail
        sys.stdout.reconfigure(errors="replace")
    out = as_json(report) if args.json else f"kgys-verify {__version__}\n" + report.text(quiet=args.quiet)
    sys.stdout.write(out)
    sys.stdout.flush()
    return report.exit_code
