"""What a check of a package found, and the plain text report printed from it.

Every finding says whether something holds (``OK``), does not (``FAILED``), or is worth knowing (``NOTE``), and
names what it concerns: a file, a clip's segments, an audit entry, a checkpoint, the signature or the key. The
wording is kept stable so that reports of different runs can be compared line by line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class Status(Enum):
    """How a finding turned out."""

    OK = "OK"
    FAILED = "FAILED"
    NOTE = "NOTE"


@dataclass(frozen=True)
class Finding:
    """One thing checked: its status, what it concerns (``subject``) and what was found, in plain words."""

    status: Status
    subject: str
    text: str

    @property
    def failed(self) -> bool:
        """Whether this finding is a problem."""
        return self.status is Status.FAILED


def ok(subject: str, text: str) -> Finding:
    """Something that holds."""
    return Finding(Status.OK, subject, text)


def failed(subject: str, text: str) -> Finding:
    """Something that does not hold."""
    return Finding(Status.FAILED, subject, text)


def note(subject: str, text: str) -> Finding:
    """Something worth knowing that is not a problem in itself."""
    return Finding(Status.NOTE, subject, text)


# The exit codes of ``kgys-verify`` (documented in docs/verify.md).
EXIT_VERIFIED = 0  # everything holds and the signing key is the published key given with --key
EXIT_FAILED = 1  # something does not hold, or the package cannot be read
EXIT_USAGE = 2  # the command line was wrong
EXIT_KEY_NOT_CHECKED = 3  # everything in the package holds, but no published key was given


@dataclass
class Report:
    """Everything found about one package; ``about`` holds lines describing it (request, decision, ...)."""

    package: str
    findings: list[Finding] = field(default_factory=list)
    about: list[str] = field(default_factory=list)
    entries: list[str] = field(default_factory=list)  # the audit entries of the release, one line each
    key_checked: bool = False
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, *found: Finding) -> None:
        """Record findings."""
        self.findings.extend(found)

    @property
    def problems(self) -> list[Finding]:
        """The findings that do not hold."""
        return [f for f in self.findings if f.failed]

    @property
    def ok(self) -> bool:
        """Whether everything checked holds (the key aside)."""
        return not self.problems

    @property
    def exit_code(self) -> int:
        """0 when verified against a published key, 3 when only the key was not checked, 1 otherwise."""
        if not self.ok:
            return EXIT_FAILED
        return EXIT_VERIFIED if self.key_checked else EXIT_KEY_NOT_CHECKED

    def result(self) -> str:
        """The closing sentence of the report."""
        counted = ", ".join(f"{n} {what}" for what, n in self.counts.items())
        if not self.ok:
            n = len(self.problems)
            return (f"RESULT: NOT VERIFIED. {n} problem{'s' if n != 1 else ''} found (the lines marked FAILED "
                    "above). The package is not as it was signed, or is incomplete.")
        if not self.key_checked:
            return (f"RESULT: the package is intact and consistent ({counted}), BUT the signing key was not checked "
                    "against a published key: anyone can make a package that is consistent with a key of their own. "
                    "Run again with --key and the key the operator published.")
        return f"RESULT: VERIFIED. Everything holds ({counted}) and the package is signed by the published key."

    def text(self, *, quiet: bool = False) -> str:
        """The plain report: what the package is, one line per finding, and the result."""
        lines = [f"Evidence package: {self.package}", *self.about]
        if self.entries and not quiet:
            lines += ["", "Audit entries of the release:", *(f"  {e}" for e in self.entries)]
        lines.append("")
        for f in self.findings:
            if quiet and f.status is Status.OK:
                continue
            lines.append(f"{f.status.value:<7}{f.subject}: {f.text}")
        lines += ["", self.result()]
        return "\n".join(lines) + "\n"
