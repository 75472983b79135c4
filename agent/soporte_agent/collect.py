"""The machine's facts: identity (hardware UUID, serial), hostname, OS, CPU, RAM, disks,
network interfaces, and (packages.py) installed software.

Each fact is read on its own; one that cannot be read is left blank, never a crash.
"""

from __future__ import annotations

import json
import platform
import re
import socket
import subprocess  # noqa: S404 - fixed commands, no shell
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

from . import __version__, packages

DMI = Path("/sys/class/dmi/id")
# SMBIOS chassis types (DMTF DSP0134, 7.4.1).
LAPTOP_CHASSIS = {"8", "9", "10", "14", "30", "31", "32"}
SERVER_CHASSIS = {"17", "23", "28", "29"}
SKIP_FILESYSTEMS = {"squashfs", "tmpfs", "devtmpfs", "overlay", "iso9660", "autofs"}


def _safe(read: Callable[[], Any], default: Any = "") -> Any:
    try:
        value = read()
    except Exception:  # noqa: BLE001 - a fact that cannot be read stays blank
        return default
    return default if value is None else value


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return ""


def _command(args: list[str]) -> str:
    try:
        done = subprocess.run(  # noqa: S603 - fixed argument list
            args,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            encoding="utf-8",
            errors="replace",
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout if done.returncode == 0 else ""


# -- identity ----------------------------------------------------------------------------


def linux_identity(dmi: Path = DMI, etc: Path = Path("/etc")) -> dict[str, str]:
    """SMBIOS facts from sysfs. The UUID and serial are readable by root only; without
    them the OS machine id stands in, so the machine is still recognised."""
    uuid = _read(dmi / "product_uuid").lower()
    if not uuid:
        machine_id = _read(etc / "machine-id") or _read(Path("/var/lib/dbus/machine-id"))
        uuid = f"machine-id:{machine_id}" if machine_id else ""
    chassis = _read(dmi / "chassis_type")
    return {
        "hardware_uuid": uuid,
        "serial": _read(dmi / "product_serial"),
        "manufacturer": _read(dmi / "sys_vendor"),
        "model": _read(dmi / "product_name"),
        "chassis": "laptop" if chassis in LAPTOP_CHASSIS else (
            "server" if chassis in SERVER_CHASSIS else ""),
    }  # fmt: skip


def parse_sp_hardware(text: str) -> dict[str, Any]:
    """`system_profiler SPHardwareDataType -json` (macOS)."""
    try:
        items = json.loads(text).get("SPHardwareDataType") or [{}]
    except (ValueError, AttributeError):
        return {}
    hw = items[0] if isinstance(items[0], dict) else {}
    memory = str(hw.get("physical_memory", ""))
    match = re.match(r"([\d.]+)\s*(GB|TB|MB)", memory)
    ram_mb = None
    if match:
        ram_mb = int(
            float(match.group(1)) * {"MB": 1, "GB": 1024, "TB": 1024 * 1024}[match.group(2)]
        )
    name = str(hw.get("machine_name", ""))
    return {
        "hardware_uuid": str(hw.get("platform_UUID", "")).lower(),
        "serial": str(hw.get("serial_number", "")),
        "manufacturer": "Apple",
        "model": str(hw.get("machine_model", "")) or name,
        "chassis": "laptop" if "book" in name.lower() else "",
        "cpu": str(hw.get("chip_type") or hw.get("cpu_type") or ""),
        "ram_mb": ram_mb,
    }


def parse_reg_values(text: str) -> dict[str, str]:
    """Values of one `reg query KEY` (no /s): name -> data."""
    values = {}
    for line in text.splitlines():
        parts = re.split(r"\s{4}", line.strip("\r"))
        parts = [p for p in parts if p != ""]
        if len(parts) >= 3 and parts[1].startswith("REG_"):
            values[parts[0]] = parts[2]
    return values


def windows_identity(query: Callable[[str], str] = lambda key: _command(["reg", "query", key])):
    guid = parse_reg_values(query(r"HKLM\SOFTWARE\Microsoft\Cryptography")).get("MachineGuid", "")
    bios = parse_reg_values(query(r"HKLM\HARDWARE\DESCRIPTION\System\BIOS"))
    cpu = parse_reg_values(query(r"HKLM\HARDWARE\DESCRIPTION\System\CentralProcessor\0"))
    return {
        "hardware_uuid": f"machine-guid:{guid.lower()}" if guid else "",
        "serial": "",
        "manufacturer": bios.get("SystemManufacturer", ""),
        "model": bios.get("SystemProductName", ""),
        "chassis": "",
        "cpu": cpu.get("ProcessorNameString", "").strip(),
    }


# -- the rest ----------------------------------------------------------------------------


def operating_system() -> tuple[str, str]:
    if sys.platform.startswith("linux"):
        release = _safe(platform.freedesktop_os_release, {})
        return release.get("NAME", "Linux"), release.get("VERSION_ID") or release.get(
            "VERSION", platform.release()
        )
    if sys.platform == "darwin":
        return "macOS", platform.mac_ver()[0]
    if sys.platform == "win32":
        return f"Windows {platform.release()}", platform.version()
    return platform.system(), platform.release()


def linux_cpu(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    for line in _read(cpuinfo).splitlines():
        if line.lower().startswith(("model name", "hardware", "processor\t: ")) and ":" in line:
            value = line.split(":", 1)[1].strip()
            if value and not value.isdigit():
                return value
    return platform.processor()


def disks() -> list[dict[str, Any]]:
    found = []
    for part in psutil.disk_partitions(all=False):
        if part.fstype in SKIP_FILESYSTEMS or part.device.startswith("/dev/loop"):
            continue
        usage = _safe(lambda part=part: psutil.disk_usage(part.mountpoint), None)
        found.append({
            "name": part.device[:100], "mountpoint": part.mountpoint[:200],
            "fstype": part.fstype[:50],
            "size_gb": round(usage.total / 1e9, 1) if usage else None,
        })  # fmt: skip
    return found[:64]


def interfaces() -> list[dict[str, Any]]:
    link_families = {getattr(socket, "AF_PACKET", -1), getattr(psutil, "AF_LINK", -2)}
    found = []
    for name, addresses in psutil.net_if_addrs().items():
        if name == "lo" or name.startswith("lo"):
            continue
        nic: dict[str, Any] = {"name": name[:100], "mac": "", "ips": []}
        for address in addresses:
            if address.family in link_families:
                nic["mac"] = address.address.lower().replace("-", ":")[:64]
            elif address.family in (socket.AF_INET, socket.AF_INET6):
                nic["ips"].append(address.address.split("%")[0][:64])
        found.append(nic)
    return found[:128]


def collect(software: bool = True, platform_name: str = sys.platform) -> dict[str, Any]:
    """The report the server's /api/v1/assets/inventory takes."""
    if platform_name.startswith("linux"):
        identity: dict[str, Any] = _safe(linux_identity, {})
        identity.setdefault("cpu", _safe(linux_cpu))
    elif platform_name == "darwin":
        identity = _safe(lambda: parse_sp_hardware(
            _command(["system_profiler", "SPHardwareDataType", "-json"])), {})  # fmt: skip
    elif platform_name == "win32":
        identity = _safe(windows_identity, {})
    else:
        identity = {}
    if not identity.get("chassis") and _safe(psutil.sensors_battery, None) is not None:
        identity["chassis"] = "laptop"
    os_name, os_version = _safe(operating_system, ("", ""))
    report: dict[str, Any] = {
        "agent_version": __version__,
        "hardware_uuid": identity.get("hardware_uuid", "")[:64],
        "serial": identity.get("serial", "")[:100],
        "hostname": socket.gethostname()[:253],
        "manufacturer": identity.get("manufacturer", "")[:100],
        "model": identity.get("model", "")[:100],
        "chassis": identity.get("chassis", ""),
        "os_name": str(os_name)[:100],
        "os_version": str(os_version)[:100],
        "cpu": (identity.get("cpu") or platform.processor() or "")[:200],
        "ram_mb": identity.get("ram_mb")
        or _safe(lambda: psutil.virtual_memory().total // (1024 * 1024), None),  # fmt: skip
        "disks": _safe(disks, []),
        "interfaces": _safe(interfaces, []),
        "software": None,
    }
    if software:
        report["software"] = _safe(lambda: packages.installed(platform_name), None)
    return report
