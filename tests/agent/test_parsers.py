"""Each platform's package and hardware parsers, on output recorded on that platform."""

from __future__ import annotations

from soporte_agent import collect, packages

from .conftest import RECORDED


def _recorded(name: str) -> str:
    return (RECORDED / name).read_text(encoding="utf-8")


def test_dpkg_lists_installed_packages_once_per_architecture():
    found = packages.dedupe(packages.parse_dpkg(_recorded("dpkg.txt")))
    assert [(p["name"], p["version"]) for p in found] == [
        ("adduser", "3.134"),
        ("bash", "5.2.15-2+b7"),
        ("held-pkg", "2.0"),
        ("libc6", "2.36-9+deb12u9"),
    ]


def test_rpm_lists_packages_with_their_vendor_but_not_signing_keys():
    found = packages.parse_rpm(_recorded("rpm.txt"))
    assert [(p["name"], p["vendor"]) for p in found] == [
        ("bash", "Fedora Project"),
        ("kernel-core", "Fedora Project"),
        ("zoom", ""),
    ]


def test_the_windows_uninstall_keys_give_products_not_components_or_updates():
    found = packages.parse_reg_query(_recorded("reg_uninstall.txt"))
    assert found == [
        {"name": "7-Zip 23.01 (x64)", "version": "23.01", "vendor": "Igor Pavlov"},
        {
            "name": "Microsoft Windows Desktop Runtime - 8.0.11 (x64)",
            "version": "64.44.21226",
            "vendor": "Microsoft Corporation",
        },
        {"name": "Mozilla Firefox (x64 es-ES)", "version": "133.0", "vendor": "Mozilla"},
    ]


def test_the_windows_identity_comes_from_the_registry():
    keys = {
        "Cryptography": "reg_cryptography.txt",
        "BIOS": "reg_bios.txt",
        "CentralProcessor\\0": "reg_cpu.txt",
    }

    def query(key: str) -> str:
        return next(_recorded(name) for end, name in keys.items() if key.endswith(end))

    identity = collect.windows_identity(query)
    assert identity == {
        "hardware_uuid": "machine-guid:6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b",
        "serial": "",
        "manufacturer": "Dell Inc.",
        "model": "Latitude 5440",
        "chassis": "",
        "cpu": "13th Gen Intel(R) Core(TM) i5-1345U",
    }


def test_macos_applications_come_from_system_profiler():
    found = packages.parse_system_profiler(_recorded("sp_applications.json"))
    assert [(p["name"], p["version"], p["vendor"]) for p in found] == [
        ("Safari", "18.1.1", "Apple"),
        ("Google Chrome", "131.0.6778.86", "Google LLC"),
        ("Slack", "4.41.105", ""),
        ("MyScript", "", ""),
    ]


def test_macos_hardware_comes_from_system_profiler():
    hardware = collect.parse_sp_hardware(_recorded("sp_hardware.json"))
    assert hardware == {
        "hardware_uuid": "5b1d6a3c-1e0f-5e2b-9c7a-3f4d2e1b0a99",
        "serial": "C02XL0ABJGH5",
        "manufacturer": "Apple",
        "model": "Mac14,2",
        "chassis": "laptop",
        "cpu": "Apple M2",
        "ram_mb": 16384,
    }


def test_unreadable_output_gives_no_packages_rather_than_a_crash():
    assert packages.parse_system_profiler("not json") == []
    assert packages.parse_dpkg("garbage without tabs\n") == []
    assert collect.parse_sp_hardware("{") == {}


def test_linux_identity_falls_back_to_the_machine_id(tmp_path):
    dmi, etc = tmp_path / "dmi", tmp_path / "etc"
    dmi.mkdir()
    etc.mkdir()
    (dmi / "sys_vendor").write_text("LENOVO\n")
    (dmi / "product_name").write_text("21CF\n")
    (dmi / "chassis_type").write_text("10\n")
    (etc / "machine-id").write_text("3d1219c7c4c5404aaa1f6d2a48adfda4\n")
    identity = collect.linux_identity(dmi, etc)
    assert identity["hardware_uuid"] == "machine-id:3d1219c7c4c5404aaa1f6d2a48adfda4"
    assert (identity["manufacturer"], identity["chassis"]) == ("LENOVO", "laptop")
    (dmi / "product_uuid").write_text("4C4C4544-0042-3510-8052-B4C04F4A4E32\n")
    assert collect.linux_identity(dmi, etc)["hardware_uuid"] == (
        "4c4c4544-0042-3510-8052-b4c04f4a4e32"
    )


def test_the_report_has_what_the_server_reads():
    report = collect.collect(software=False)
    assert report["hostname"] and report["ram_mb"] > 0 and report["software"] is None
    assert report["hardware_uuid"] or report["serial"]
    assert all(set(nic) == {"name", "mac", "ips"} for nic in report["interfaces"])
