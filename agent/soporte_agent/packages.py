"""Installed software, from each platform's package records.

Every parser is a pure function of the command's text output, so each platform's parser
is tested on output recorded there; `installed()` runs the command for this platform.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess  # noqa: S404 - fixed commands, no shell
import sys

Package = dict  # {"name": str, "version": str, "vendor": str}

DPKG = ["dpkg-query", "-W", "-f=${binary:Package}\\t${Version}\\t${db:Status-Abbrev}\\n"]
RPM = ["rpm", "-qa", "--queryformat", "%{NAME}\\t%{VERSION}-%{RELEASE}\\t%{VENDOR}\\n"]
WINDOWS_KEYS = [
    r"HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall",
    r"HKLM\SOFTWARE\WOW6432Node\Microsoft\Windows\CurrentVersion\Uninstall",
    r"HKCU\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall",
]
MACOS = ["system_profiler", "SPApplicationsDataType", "-json"]
TIMEOUT = 120


def _package(name: str, version: str = "", vendor: str = "") -> Package:
    return {
        "name": name.strip()[:200],
        "version": version.strip()[:100],
        "vendor": vendor.strip()[:200],
    }


def parse_dpkg(text: str) -> list[Package]:
    """`dpkg-query -W -f='${binary:Package}\\t${Version}\\t${db:Status-Abbrev}\\n'`: only
    packages whose status is installed ("ii"), not removed ones with config left ("rc")."""
    found = []
    for line in text.splitlines():
        parts = line.split("\t")
        if len(parts) < 2 or not parts[0].strip():
            continue
        status = parts[2].strip() if len(parts) > 2 else "ii"
        if status[:2] not in ("ii", "hi"):
            continue
        # "libc6:amd64" and "libc6:i386" are one product.
        found.append(_package(parts[0].split(":", 1)[0], parts[1]))
    return found


def parse_rpm(text: str) -> list[Package]:
    """`rpm -qa --queryformat '%{NAME}\\t%{VERSION}-%{RELEASE}\\t%{VENDOR}\\n'`."""
    found = []
    for line in text.splitlines():
        parts = line.split("\t")
        if len(parts) < 2 or not parts[0].strip() or parts[0].startswith("gpg-pubkey"):
            continue
        vendor = parts[2] if len(parts) > 2 and parts[2] != "(none)" else ""
        found.append(_package(parts[0], parts[1], vendor))
    return found


_REG_VALUE = re.compile(
    r"^\s{4}(\S[^\t]*?)\s{4}(REG_\w+)\s{4}(.*)$|^\s{4}(\S[^\t]*?)\s{4}(REG_\w+)$"
)


def parse_reg_query(text: str) -> list[Package]:
    """`reg query <Uninstall key> /s`: one block per subkey, its values indented by four
    spaces. Kept: entries with a DisplayName that are not system components or updates
    of another product (ParentKeyName)."""
    found = []
    entry: dict[str, str] = {}

    def flush() -> None:
        name = entry.get("DisplayName", "")
        if (
            name
            and entry.get("SystemComponent", "").lower() not in ("0x1", "1")
            and "ParentKeyName" not in entry
        ):
            found.append(
                _package(name, entry.get("DisplayVersion", ""), entry.get("Publisher", ""))
            )

    for raw in text.splitlines():
        line = raw.rstrip("\r")
        if line.startswith("HKEY_") or line.startswith("HK"):
            flush()
            entry = {}
            continue
        match = _REG_VALUE.match(line)
        if match:
            name = match.group(1) or match.group(4)
            value = match.group(3) or ""
            entry[name] = value
    flush()
    return found


def _signer(app: dict) -> str:
    """The vendor: Apple for its own apps, else the Developer ID's name."""
    if app.get("obtained_from") == "apple":
        return "Apple"
    signed = app.get("signed_by") or []
    if signed and isinstance(signed, list):
        first = str(signed[0])
        if first.startswith("Developer ID Application:"):
            # "Developer ID Application: Google LLC (EQHXZ8M8AV)" -> "Google LLC"
            return re.sub(r"\s*\([A-Z0-9]+\)\s*$", "", first.split(":", 1)[1]).strip()
    return ""


def parse_system_profiler(text: str) -> list[Package]:
    """`system_profiler SPApplicationsDataType -json`."""
    try:
        data = json.loads(text)
    except ValueError:
        return []
    found = []
    for app in data.get("SPApplicationsDataType", []):
        if isinstance(app, dict) and app.get("_name"):
            found.append(_package(str(app["_name"]), str(app.get("version", "")), _signer(app)))
    return found


def _run(command: list[str]) -> str | None:
    if shutil.which(command[0]) is None:
        return None
    try:
        done = subprocess.run(  # noqa: S603 - fixed argument list
            command,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
            encoding="utf-8",
            errors="replace",
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


def installed(platform: str = sys.platform) -> list[Package] | None:
    """The installed packages, or None when this machine's package list cannot be read."""
    if platform.startswith("linux"):
        text = _run(DPKG)
        if text is not None:
            return dedupe(parse_dpkg(text))
        text = _run(RPM)
        return dedupe(parse_rpm(text)) if text is not None else None
    if platform == "win32":
        found = []
        for key in WINDOWS_KEYS:
            text = _run(["reg", "query", key, "/s"])
            if text:
                found.extend(parse_reg_query(text))
        return dedupe(found)
    if platform == "darwin":
        text = _run(MACOS)
        return dedupe(parse_system_profiler(text)) if text is not None else None
    return None


def dedupe(packages: list[Package]) -> list[Package]:
    """One entry per (name, vendor): multi-arch and 32/64-bit copies count once."""
    seen = {}
    for package in packages:
        seen.setdefault((package["name"], package["vendor"]), package)
    return sorted(seen.values(), key=lambda p: (p["name"], p["vendor"]))
