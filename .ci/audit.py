"""`make audit`: known vulnerabilities in the pinned packages, through pip-audit.

Audits the exact pins of requirements.txt and requirements-dev.txt (no dependency
resolution, no temporary virtualenv: every dependency is pinned in those files) and
prints one line per package:

    VULNERABLE  name version: ID [ALIAS] (fix: 1.2.3), ...
    ACCEPTED    name version: ID [ALIAS] accepted: <reason from the ignore file>
    CLEAN       name version
    NOT AUDITED name: <why pip-audit could not check it>

then a verdict and, last, the summary line
``audit: packages=N clean=N vulnerable=N accepted=N not_audited=N``.

A package that pip-audit skipped (for example because the vulnerability service has no
data for that version) is NOT AUDITED, never clean.

Accepted findings are listed in ``.ci/audit-ignore.toml`` with a reason each, by id or by
alias (a CVE). They are matched here rather than passed to pip-audit's ``--ignore-vuln``,
which would drop them from its report: this way each one is still shown, with its reason,
and an entry that no longer matches anything is pointed out.

Exit status:
    0  every package was audited and no vulnerability is left unaccepted
    1  at least one package has a vulnerability that is not accepted
    2  pip-audit could not run (not installed, crashed, unreadable report or ignore file)
    3  nothing is vulnerable, but some packages could not be audited

Usage: python .ci/audit.py [--service pypi|osv] [REQUIREMENTS_FILE ...]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
IGNORE_FILE = Path(__file__).resolve().parent / "audit-ignore.toml"
DEFAULT_REQUIREMENTS = ("requirements.txt", "requirements-dev.txt")
TIMEOUT_SECONDS = 600

EXIT_OK = 0
EXIT_VULNERABLE = 1
EXIT_NOT_RUN = 2
EXIT_NOT_AUDITED = 3

CLEAN = "clean"
VULNERABLE = "vulnerable"
ACCEPTED = "accepted"
NOT_AUDITED = "not_audited"
LABELS = {
    VULNERABLE: "VULNERABLE",
    ACCEPTED: "ACCEPTED",
    CLEAN: "CLEAN",
    NOT_AUDITED: "NOT AUDITED",
}


class AuditError(Exception):
    """pip-audit did not produce a report this script can trust (exit status 2)."""


@dataclass(frozen=True)
class Finding:
    id: str
    fix_versions: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    accepted: str | None = None  # the reason, when the ignore file accepts it


@dataclass(frozen=True)
class Package:
    name: str
    version: str | None
    status: str
    findings: tuple[Finding, ...] = ()
    skip_reason: str = ""


@dataclass(frozen=True)
class Audit:
    packages: tuple[Package, ...]
    unused_accepted: tuple[str, ...] = field(default=())

    def count(self, status: str) -> int:
        return sum(1 for package in self.packages if package.status == status)


def load_accepted(path: Path) -> dict[str, str]:
    """``{id: reason}`` from the ignore file (a missing file accepts nothing)."""
    if not path.exists():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise AuditError(f"{path.name} is not valid TOML: {exc}") from None
    accepted = data.get("accepted", {})
    if not isinstance(accepted, dict):
        raise AuditError(f"{path.name}: [accepted] must be a table of id = reason")
    for vuln_id, reason in accepted.items():
        if not isinstance(reason, str) or not reason.strip():
            raise AuditError(f"{path.name}: {vuln_id} needs a reason (a non-empty string)")
    return {vuln_id: reason.strip() for vuln_id, reason in accepted.items()}


def classify(report: Mapping[str, Any], accepted: Mapping[str, str]) -> Audit:
    """Sort pip-audit's JSON report into packages by status (a pure function).

    ``accepted`` maps vulnerability ids (or aliases) to the reason they are accepted.
    """
    dependencies = report.get("dependencies") if isinstance(report, Mapping) else None
    if not isinstance(dependencies, list):
        raise AuditError("the pip-audit report has no list of dependencies")
    packages: dict[tuple[str, str | None], Package] = {}
    used: set[str] = set()
    for entry in dependencies:
        if not isinstance(entry, Mapping) or not isinstance(entry.get("name"), str):
            raise AuditError(f"unexpected dependency entry in the pip-audit report: {entry!r}")
        name = entry["name"]
        version = entry.get("version")
        if "skip_reason" in entry or version is None:
            reason = str(entry.get("skip_reason") or "pip-audit gave no version for it")
            package = Package(name, version, NOT_AUDITED, skip_reason=reason)
        else:
            findings = tuple(_finding(vuln, accepted, used) for vuln in entry.get("vulns") or ())
            if any(finding.accepted is None for finding in findings):
                status = VULNERABLE
            elif findings:
                status = ACCEPTED
            else:
                status = CLEAN
            package = Package(name, str(version), status, findings)
        packages.setdefault((name, package.version), package)
    order = (VULNERABLE, ACCEPTED, NOT_AUDITED, CLEAN)
    ordered = sorted(packages.values(), key=lambda p: (order.index(p.status), p.name))
    return Audit(tuple(ordered), tuple(sorted(set(accepted) - used)))


def _finding(vuln: Any, accepted: Mapping[str, str], used: set[str]) -> Finding:
    if not isinstance(vuln, Mapping) or not isinstance(vuln.get("id"), str):
        raise AuditError(f"unexpected vulnerability entry in the pip-audit report: {vuln!r}")
    aliases = tuple(str(alias) for alias in vuln.get("aliases") or ())
    reason = None
    for candidate in (vuln["id"], *aliases):
        if candidate in accepted:
            reason = accepted[candidate]
            used.add(candidate)
            break
    fixes = tuple(str(version) for version in vuln.get("fix_versions") or ())
    return Finding(vuln["id"], fixes, aliases, reason)


def exit_status(audit: Audit) -> int:
    if audit.count(VULNERABLE):
        return EXIT_VULNERABLE
    if audit.count(NOT_AUDITED):
        return EXIT_NOT_AUDITED
    return EXIT_OK


def summary_line(audit: Audit) -> str:
    return (
        f"audit: packages={len(audit.packages)} clean={audit.count(CLEAN)} "
        f"vulnerable={audit.count(VULNERABLE)} accepted={audit.count(ACCEPTED)} "
        f"not_audited={audit.count(NOT_AUDITED)}"
    )


def report_lines(audit: Audit) -> list[str]:
    """The per-package lines, the notes, the verdict, and the summary line last."""
    lines = []
    for package in audit.packages:
        label = f"{LABELS[package.status]:<12}"
        if package.status == NOT_AUDITED:
            lines.append(f"{label}{package.name}: {package.skip_reason}")
            continue
        head = f"{label}{package.name} {package.version}"
        if not package.findings:
            lines.append(head)
            continue
        lines.append(head + ": " + ", ".join(_describe(f) for f in package.findings))
    for vuln_id in audit.unused_accepted:
        lines.append(f"note: accepted {vuln_id} matches no finding; remove it if it is fixed")
    lines.append(verdict(audit))
    lines.append(summary_line(audit))
    return lines


def _describe(finding: Finding) -> str:
    aliases = f" [{', '.join(finding.aliases)}]" if finding.aliases else ""
    if finding.accepted is not None:
        return f"{finding.id}{aliases} accepted: {finding.accepted}"
    fixes = ", ".join(finding.fix_versions) or "none yet"
    return f"{finding.id}{aliases} (fix: {fixes})"


def verdict(audit: Audit) -> str:
    status = exit_status(audit)
    if status == EXIT_VULNERABLE:
        return (
            f"audit: exit {status}: {audit.count(VULNERABLE)} package(s) with a vulnerability "
            f"that is not accepted; upgrade them or accept each id in {IGNORE_FILE.name}"
        )
    if status == EXIT_NOT_AUDITED:
        return (
            f"audit: exit {status}: no known vulnerability, but {audit.count(NOT_AUDITED)} "
            "package(s) could not be audited (see NOT AUDITED); they are not known to be clean"
        )
    return f"audit: exit {status}: every package audited, no unaccepted vulnerability"


def pip_audit_command(requirements: Sequence[Path], service: str) -> list[str]:
    command = [sys.executable, "-m", "pip_audit", "--format", "json", "--aliases", "on"]
    command += ["--progress-spinner", "off", "--vulnerability-service", service]
    # Every dependency is pinned in these files: audit the pins as written.
    command += ["--no-deps", "--disable-pip"]
    for path in requirements:
        command += ["--requirement", str(path)]
    return command


def run_pip_audit(requirements: Sequence[Path], service: str) -> dict[str, Any]:
    """pip-audit's JSON report. Exit status 1 only means "found something"; a crash leaves
    no JSON on stdout, which is what tells the two apart."""
    command = pip_audit_command(requirements, service)
    try:
        result = subprocess.run(  # noqa: S603 - our own interpreter and fixed arguments
            command, cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT_SECONDS
        )
    except subprocess.TimeoutExpired:
        raise AuditError(f"pip-audit did not finish within {TIMEOUT_SECONDS} s") from None
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError:
        detail = _last_line(result.stderr) or f"exit status {result.returncode}, no report"
        raise AuditError(f"pip-audit could not run: {detail}") from None
    if not isinstance(report, dict):
        raise AuditError("pip-audit's report is not a JSON object")
    return report


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--service", choices=("pypi", "osv"), default="pypi")
    parser.add_argument("requirements", nargs="*", default=list(DEFAULT_REQUIREMENTS))
    args = parser.parse_args(argv)
    requirements = [ROOT / name for name in args.requirements]
    try:
        accepted = load_accepted(IGNORE_FILE)
        missing = [str(path) for path in requirements if not path.is_file()]
        if missing:
            raise AuditError(f"no such requirements file: {', '.join(missing)}")
        names = ", ".join(path.name for path in requirements)
        print(f"audit: pip-audit over {names} ({args.service} service)", flush=True)
        audit = classify(run_pip_audit(requirements, args.service), accepted)
    except AuditError as exc:
        print(f"audit: exit {EXIT_NOT_RUN}: {exc}", file=sys.stderr)
        return EXIT_NOT_RUN
    print("\n".join(report_lines(audit)))
    return exit_status(audit)


if __name__ == "__main__":
    sys.exit(main())
