"""Synthetic scan findings, basic and enhanced (Amazon Inspector).

Everything is derived from a seeded random generator, so the same request
(repository, digest, counts) always yields the same findings. CVE ids are
unique within one scan; packages, versions and scores look like those of a
Debian 12 based image. None of it describes real vulnerabilities."""

from __future__ import annotations

import hashlib
import random
from typing import Any

# Severities as the ECR API spells them.
BASIC_SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL", "UNDEFINED")
# Amazon Inspector (enhanced scanning) uses UNTRIAGED where basic scanning says UNDEFINED.
ENHANCED_SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL", "UNTRIAGED")
SEVERITY_ORDER = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL", "UNDEFINED", "UNTRIAGED")

# (name, Debian version, version carrying the fix or None)
OS_PACKAGES: list[tuple[str, str, str | None]] = [
    ("openssl", "3.0.11-1~deb12u2", "3.0.13-1~deb12u1"),
    ("libssl3", "3.0.11-1~deb12u2", "3.0.13-1~deb12u1"),
    ("libc6", "2.36-9+deb12u3", "2.36-9+deb12u7"),
    ("libc-bin", "2.36-9+deb12u3", "2.36-9+deb12u7"),
    ("zlib1g", "1:1.2.13.dfsg-1", None),
    ("curl", "7.88.1-10+deb12u4", "7.88.1-10+deb12u5"),
    ("libcurl4", "7.88.1-10+deb12u4", "7.88.1-10+deb12u5"),
    ("libxml2", "2.9.14+dfsg-1.3~deb12u1", None),
    ("perl-base", "5.36.0-7+deb12u1", None),
    ("libsqlite3-0", "3.40.1-2", "3.40.1-2+deb12u1"),
    ("tar", "1.34+dfsg-1.2+deb12u1", None),
    ("libgnutls30", "3.7.9-2+deb12u1", "3.7.9-2+deb12u2"),
    ("libgcrypt20", "1.10.1-3", None),
    ("ncurses-base", "6.4-4", None),
    ("util-linux", "2.38.1-5+b1", None),
    ("libsystemd0", "252.19-1~deb12u1", "252.22-1~deb12u1"),
    ("libudev1", "252.19-1~deb12u1", "252.22-1~deb12u1"),
    ("libpam0g", "1.5.2-6+deb12u1", None),
    ("libkrb5-3", "1.20.1-2+deb12u1", "1.20.1-2+deb12u2"),
    ("libgssapi-krb5-2", "1.20.1-2+deb12u1", "1.20.1-2+deb12u2"),
    ("libexpat1", "2.5.0-1", "2.5.0-1+deb12u1"),
    ("bash", "5.2.15-2+b2", None),
    ("coreutils", "9.1-1", None),
    ("libtasn1-6", "4.19.0-2", "4.19.0-2+deb12u1"),
    ("libzstd1", "1.5.4+dfsg2-5", None),
    ("liblzma5", "5.4.1-0.2", None),
    ("e2fsprogs", "1.47.0-2", None),
    ("login", "1:4.13+dfsg1-1+b1", None),
    ("passwd", "1:4.13+dfsg1-1+b1", None),
    ("apt", "2.6.1", None),
    ("gpgv", "2.2.40-1.1", None),
    ("libdb5.3", "5.3.28+dfsg2-1", None),
    ("libpcre2-8-0", "10.42-1", None),
    ("libnghttp2-14", "1.52.0-1", "1.52.0-1+deb12u1"),
    ("libssh2-1", "1.10.0-3+b1", None),
    ("libcap2", "1:2.66-4", None),
    ("libgmp10", "2:6.2.1+dfsg1-1.1", None),
    ("libnettle8", "3.8.1-2", None),
    ("libp11-kit0", "0.24.1-2", None),
    ("libselinux1", "3.4-1+b6", None),
    ("libstdc++6", "12.2.0-14", None),
    ("gcc-12-base", "12.2.0-14", None),
]

# (name, version, fix, package manager, file path) for enhanced findings only.
LANGUAGE_PACKAGES: list[tuple[str, str, str | None, str, str]] = [
    ("express", "4.18.2", "4.19.2", "NODEPKG", "app/node_modules/express/package.json"),
    ("lodash", "4.17.20", "4.17.21", "NODEPKG", "app/node_modules/lodash/package.json"),
    ("semver", "7.5.1", "7.5.2", "NODEPKG", "app/node_modules/semver/package.json"),
    ("requests", "2.31.0", "2.32.0", "PYTHONPKG", "usr/local/lib/python3.12/site-packages/requests-2.31.0.dist-info/METADATA"),
    ("urllib3", "2.0.6", "2.2.2", "PYTHONPKG", "usr/local/lib/python3.12/site-packages/urllib3-2.0.6.dist-info/METADATA"),
    ("golang.org/x/net", "v0.17.0", "0.23.0", "GOBINARY", "usr/local/bin/app"),
    ("stdlib", "go1.21.4", "1.21.9", "GOBINARY", "usr/local/bin/app"),
    ("com.fasterxml.jackson.core:jackson-databind", "2.13.4", None, "JAR", "app/lib/jackson-databind-2.13.4.jar"),
]

# Packages that come in pairs from one source package: a finding on one usually names both.
PAIRS = {
    "openssl": "libssl3",
    "libc6": "libc-bin",
    "curl": "libcurl4",
    "libsystemd0": "libudev1",
    "libkrb5-3": "libgssapi-krb5-2",
    "login": "passwd",
}

# (CVSS v3.1 vector, base score) per severity.
CVSS3 = {
    "CRITICAL": [
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", 10.0),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:H", 9.1),
    ],
    "HIGH": [
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H", 7.5),
        ("CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H", 7.8),
        ("CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H", 8.1),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:H/I:H/A:H", 8.8),
    ],
    "MEDIUM": [
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 6.1),
        ("CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:N/A:H", 5.9),
        ("CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:N/I:N/A:H", 5.5),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:N/A:N", 5.3),
    ],
    "LOW": [
        ("CVSS:3.1/AV:L/AC:H/PR:L/UI:N/S:U/C:L/I:N/A:N", 2.5),
        ("CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:N/A:N", 3.1),
        ("CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:L/I:N/A:N", 3.3),
    ],
}
CVSS2 = {
    "CRITICAL": [("AV:N/AC:L/Au:N/C:C/I:C/A:C", 10.0)],
    "HIGH": [("AV:N/AC:L/Au:N/C:P/I:P/A:P", 7.5), ("AV:N/AC:M/Au:N/C:P/I:P/A:P", 6.8)],
    "MEDIUM": [("AV:N/AC:M/Au:N/C:N/I:N/A:P", 4.3), ("AV:N/AC:L/Au:N/C:N/I:N/A:P", 5.0)],
    "LOW": [("AV:L/AC:L/Au:N/C:P/I:N/A:N", 2.1), ("AV:N/AC:H/Au:N/C:P/I:N/A:N", 2.6)],
}
DEBIAN_VENDOR_SEVERITY = {
    "CRITICAL": "high",
    "HIGH": "high",
    "MEDIUM": "medium",
    "LOW": "low",
    "INFORMATIONAL": "unimportant",
    "UNTRIAGED": "not yet assigned",
}

_FLAWS = [
    "A heap-based buffer overflow in {where} of {pkg} allows remote attackers to cause a denial of service "
    "(crash) or possibly execute arbitrary code via a crafted {input}.",
    "An out-of-bounds read in {where} of {pkg} may allow an attacker to obtain sensitive information from "
    "process memory via a specially crafted {input}.",
    "A use-after-free in {where} of {pkg} can be triggered by a malicious {input}, leading to a crash or "
    "arbitrary code execution.",
    "Improper input validation in {where} of {pkg} allows a remote attacker to cause a denial of service "
    "through excessive resource consumption when processing a {input}.",
    "An integer overflow in {where} of {pkg} could lead to a heap buffer overflow when handling a {input}.",
    "A NULL pointer dereference in {where} of {pkg} allows attackers to cause a denial of service via a "
    "crafted {input}.",
    "A race condition in {where} of {pkg} allows local users to escalate privileges under certain "
    "configurations.",
]
_WHERE = ["the parser", "the decoder", "the certificate verifier", "the header handling code", "the archive reader"]
_INPUTS = ["certificate", "HTTP response", "XML document", "archive", "request header", "input file", "regular expression"]


def _rng(*parts: Any) -> random.Random:
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def _split_debian(version: str) -> tuple[int, str, str]:
    """(epoch, upstream version, Debian revision) of a Debian version string."""
    epoch = 0
    if ":" in version:
        head, version = version.split(":", 1)
        epoch = int(head)
    upstream, _, release = version.rpartition("-")
    if not upstream:
        return epoch, release, ""
    return epoch, upstream, release


def _inspector_version(version: str) -> str:
    """Amazon Inspector spells OS package versions with their epoch: 0:3.0.13-1~deb12u1."""
    epoch, upstream, release = _split_debian(version)
    return f"{epoch}:{upstream}-{release}" if release else f"{epoch}:{upstream}"


def _bump(version: str) -> str:
    """A plausible later Debian version that carries a fix."""
    if "+deb12u" in version:
        head, _, n = version.rpartition("+deb12u")
        if n.isdigit():
            return f"{head}+deb12u{int(n) + 1}"
    if "~deb12u" in version:
        head, _, n = version.rpartition("~deb12u")
        if n.isdigit():
            return f"{head}~deb12u{int(n) + 1}"
    return f"{version}+deb12u1"


class _CveIds:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[str] = set()

    def next(self) -> str:
        while True:
            cve = f"CVE-{self.rng.randint(2019, 2026)}-{self.rng.randint(10000, 59999)}"
            if cve not in self.used:
                self.used.add(cve)
                return cve


def _pick_fix(rng: random.Random, version: str, known_fix: str | None, severity: str) -> str | None:
    # More severe findings are more often fixed upstream already.
    chance = {"CRITICAL": 0.8, "HIGH": 0.7, "MEDIUM": 0.55, "LOW": 0.4}.get(severity, 0.2)
    if rng.random() >= chance:
        return None
    return known_fix or _bump(version)


def _ordered(counts: dict[str, int]) -> list[str]:
    severities: list[str] = []
    for severity in SEVERITY_ORDER:
        severities += [severity] * counts.get(severity, 0)
    return severities


def basic_findings(counts: dict[str, int], seed: str) -> list[dict[str, Any]]:
    """Basic-scanning findings: OS packages, CVSS attributes, an NVD link."""
    rng = _rng("basic", seed)
    ids = _CveIds(rng)
    out = []
    for severity in _ordered(counts):
        name, version, known_fix = rng.choice(OS_PACKAGES)
        cve = ids.next()
        fix = _pick_fix(rng, version, known_fix, severity)
        description = rng.choice(_FLAWS).format(where=rng.choice(_WHERE), pkg=name, input=rng.choice(_INPUTS))
        if fix:
            description += f" This issue is fixed in version {fix}."
        attributes = [
            {"key": "package_version", "value": version},
            {"key": "package_name", "value": name},
        ]
        if severity in CVSS3:
            vector, score = rng.choice(CVSS3[severity])
            attributes += [{"key": "CVSS3_VECTOR", "value": vector}, {"key": "CVSS3_SCORE", "value": f"{score}"}]
            if rng.random() < 0.3:
                vector2, score2 = rng.choice(CVSS2[severity])
                attributes += [
                    {"key": "CVSS2_VECTOR", "value": vector2},
                    {"key": "CVSS2_SCORE", "value": f"{score2}"},
                ]
        out.append(
            {
                "name": cve,
                "description": description,
                "uri": f"https://nvd.nist.gov/vuln/detail/{cve}",
                "severity": severity,
                "attributes": attributes,
            }
        )
    return out


def enhanced_findings(
    counts: dict[str, int],
    seed: str,
    *,
    account: str,
    region: str,
    repository: str,
    digest: str,
    tags: list[str],
    pushed_at: float,
    observed_at: float,
    architecture: str,
    layer_digests: list[str],
) -> list[dict[str, Any]]:
    """Enhanced-scanning (Amazon Inspector) findings for one image."""
    rng = _rng("enhanced", seed)
    ids = _CveIds(rng)
    arch = {"amd64": "X86_64", "arm64": "ARM64"}.get(architecture, architecture.upper())
    layers = layer_digests or ["sha256:" + hashlib.sha256(digest.encode()).hexdigest()]
    resource = {
        "details": {
            "awsEcrContainerImage": {
                "architecture": architecture,
                "imageHash": digest,
                "imageTags": list(tags),
                "platform": "DEBIAN_12",
                "pushedAt": pushed_at,
                "registry": account,
                "repositoryName": repository,
            }
        },
        "id": f"arn:aws:ecr:{region}:{account}:repository/{repository}/{digest}",
        "tags": {},
        "type": "AWS_ECR_CONTAINER_IMAGE",
    }
    out = []
    for severity in _ordered(counts):
        cve = ids.next()
        packages: list[dict[str, Any]] = []
        if rng.random() < 0.2:
            name, version, known_fix, manager, path = rng.choice(LANGUAGE_PACKAGES)
            fix = _pick_fix(rng, version, known_fix, severity) if known_fix else None
            packages.append(
                {
                    "name": name,
                    "version": version.lstrip("v"),
                    "epoch": 0,
                    "packageManager": manager,
                    "filePath": path,
                    "sourceLayerHash": layers[-1],
                    "fixedInVersion": fix or "NotAvailable",
                }
            )
            source, source_url = "NVD", f"https://nvd.nist.gov/vuln/detail/{cve}"
            vendor_severity = severity if severity in CVSS3 else "NONE"
            title_package = name
        else:
            name, version, known_fix = rng.choice(OS_PACKAGES)
            fix = _pick_fix(rng, version, known_fix, severity)
            names = [name] + ([PAIRS[name]] if name in PAIRS and rng.random() < 0.5 else [])
            for index, package in enumerate(names):
                epoch, upstream, release = _split_debian(version)
                # Now and then only one package of a pair already has a fix: PARTIAL.
                this_fix = fix if index == 0 or rng.random() < 0.8 else None
                entry: dict[str, Any] = {
                    "name": package,
                    "version": upstream,
                    "epoch": epoch,
                    "arch": arch,
                    "packageManager": "OS",
                    "sourceLayerHash": layers[0],
                    "fixedInVersion": _inspector_version(this_fix) if this_fix else "NotAvailable",
                }
                if release:
                    entry["release"] = release
                packages.append(entry)
            source, source_url = "DEBIAN_CVE", f"https://security-tracker.debian.org/tracker/{cve}"
            vendor_severity = DEBIAN_VENDOR_SEVERITY.get(severity, "not yet assigned")
            title_package = name
        fixed = [p["fixedInVersion"] != "NotAvailable" for p in packages]
        fix_available = "YES" if all(fixed) else "PARTIAL" if any(fixed) else "NO"
        exploit_chance = {"CRITICAL": 0.4, "HIGH": 0.15}.get(severity, 0.03)
        description = rng.choice(_FLAWS).format(
            where=rng.choice(_WHERE), pkg=title_package, input=rng.choice(_INPUTS)
        )
        details: dict[str, Any] = {
            "cvss": [],
            "referenceUrls": [source_url, f"https://www.cve.org/CVERecord?id={cve}"],
            "relatedVulnerabilities": [],
            "source": source,
            "sourceUrl": source_url,
            "vendorSeverity": vendor_severity,
            "vulnerabilityId": cve,
            "vulnerablePackages": packages,
        }
        finding: dict[str, Any] = {
            "awsAccountId": account,
            "description": description,
            "findingArn": f"arn:aws:inspector2:{region}:{account}:finding/{rng.getrandbits(128):032x}",
            "firstObservedAt": observed_at,
            "lastObservedAt": observed_at,
            "packageVulnerabilityDetails": details,
            "remediation": {"recommendation": {"text": "None Provided"}},
            "resources": [resource],
            "severity": severity,
            "status": "ACTIVE",
            "title": f"{cve} - {', '.join(p['name'] for p in packages)}",
            "type": "PACKAGE_VULNERABILITY",
            "updatedAt": observed_at,
            "fixAvailable": fix_available,
            "exploitAvailable": "YES" if rng.random() < exploit_chance else "NO",
        }
        if severity in CVSS3:
            vector, score = rng.choice(CVSS3[severity])
            details["cvss"] = [{"baseScore": score, "scoringVector": vector, "source": "NVD", "version": "3.1"}]
            finding["score"] = score
            finding["scoreDetails"] = {
                "cvss": {
                    "adjustments": [],
                    "score": score,
                    "scoreSource": "NVD",
                    "scoringVector": vector,
                    "version": "3.1",
                }
            }
        out.append(finding)
    return out
