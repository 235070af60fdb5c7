"""The frameworks kbgen knows, and the grammar of each one's control ids.

Each framework normalises the ways people write an id (``ac-6 (9)``,
``Article 12``, ``164.312(b)``) to one canonical spelling and then validates it
against a pattern. The canonical spelling is what links and tests must use.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Framework:
    id: str
    name: str
    pattern: re.Pattern[str]
    normalize: Callable[[str], str]
    #: A valid id, for messages ("expected something like AC-6(9)").
    example: str

    def canonical(self, raw: str) -> str | None:
        """The canonical id, or None when ``raw`` is not an id of this framework."""
        candidate = self.normalize(" ".join(raw.split()))
        return candidate if self.pattern.fullmatch(candidate) else None


def _nist(raw: str) -> str:
    text = raw.upper().replace(" ", "")
    text = re.sub(r"^([A-Z]{2})-0*(\d+)", r"\1-\2", text)
    text = re.sub(r"^([A-Z]{2}-\d+)\.(\d+)$", r"\1(\2)", text)  # OSCAL style ac-6.9
    return re.sub(r"\(0*(\d+)\)", r"(\1)", text)


def _hipaa(raw: str) -> str:
    text = raw.replace(" ", "").replace("Sec.", "").replace("§§", "§")
    return text if text.startswith("§") else "§" + text


def _upper(raw: str) -> str:
    return raw.upper()


def _hitrust(raw: str) -> str:
    return raw.lower()


def _owasp_llm(raw: str) -> str:
    text = raw.upper().replace(" ", "")
    return text + ":2025" if re.fullmatch(r"LLM\d\d", text) else text


def _eu_ai_act(raw: str) -> str:
    text = re.sub(r"^(?:Article|Art\.?)\s*", "Art. ", raw.strip(), flags=re.I)
    return text.replace(" (", "(")


def _ai_rmf(raw: str) -> str:
    text = raw.upper().replace("-", " ")
    return re.sub(r"^(GOVERN|MAP|MEASURE|MANAGE)\s*", r"\1 ", text)


def _stig(raw: str) -> str:
    return raw.strip()


FRAMEWORKS: dict[str, Framework] = {
    f.id: f
    for f in (
        Framework(
            "nist-800-53",
            "NIST SP 800-53 Rev. 5",
            re.compile(
                r"(AC|AT|AU|CA|CM|CP|IA|IR|MA|MP|PE|PL|PM|PS|PT|RA|SA|SC|SI|SR)"
                r"-\d{1,2}(\(\d{1,2}\))?"
            ),
            _nist,
            "AC-6(9)",
        ),
        Framework(
            "hipaa",
            "HIPAA Security Rule",
            re.compile(r"§164\.3(0[2-9]|1[0-8])(\([a-zA-Z0-9]{1,4}\)){0,5}"),
            _hipaa,
            "§164.312(a)(2)(iv)",
        ),
        Framework(
            "pci-dss",
            "PCI DSS v4.0",
            re.compile(r"(A[1-3]\.)?\d{1,2}(\.\d{1,2}){0,3}"),
            _upper,
            "8.3.6",
        ),
        Framework("hitrust", "HITRUST CSF v11", re.compile(r"\d{2}\.[a-z]{1,2}"), _hitrust, "01.a"),
        Framework(
            "owasp-llm",
            "OWASP Top 10 for LLM Applications",
            re.compile(r"LLM(0[1-9]|10):2025"),
            _owasp_llm,
            "LLM01:2025",
        ),
        Framework(
            "owasp-agentic",
            "OWASP Agentic AI Threats",
            re.compile(r"T([1-9]|1[0-5])"),
            _upper,
            "T1",
        ),
        Framework(
            "mitre-atlas",
            "MITRE ATLAS",
            re.compile(r"AML\.[TM]\d{4}(\.\d{3})?"),
            _upper,
            "AML.T0051",
        ),
        Framework(
            "eu-ai-act",
            "EU AI Act",
            re.compile(r"Art\. \d{1,3}(\(\d{1,2}\))?(\([a-z]\))?|Annex [IVX]{1,5}"),
            _eu_ai_act,
            "Art. 12",
        ),
        Framework(
            "iso-42001",
            "ISO/IEC 42001",
            re.compile(r"A\.\d{1,2}(\.\d{1,2}){1,2}"),
            _upper,
            "A.6.2.8",
        ),
        Framework(
            "nist-ai-rmf",
            "NIST AI RMF 1.0",
            re.compile(r"(GOVERN|MAP|MEASURE|MANAGE) \d{1,2}\.\d{1,2}"),
            _ai_rmf,
            "GOVERN 1.1",
        ),
        Framework(
            "disa-stig",
            "DISA STIG",
            re.compile(r"V-\d{5,6}|SV-\d{5,6}r\d+_rule"),
            _stig,
            "V-268078",
        ),
    )
}


def split_key(key: str) -> tuple[str, str] | None:
    """``nist-800-53/AC-2`` -> (``nist-800-53``, ``AC-2``); None without a known framework."""
    framework, slash, control = key.partition("/")
    if not slash or framework not in FRAMEWORKS:
        return None
    return framework, control


# Families: how a framework groups its controls. The site files each control page under
# its family (so that no navigation section grows past a few dozen entries), and the
# family is derived from the canonical id alone, so a page's address never depends on
# which other controls exist. Each function returns (folder, title), or None when the
# framework is small enough to list flat.

_NIST_FAMILIES = {
    "AC": "Access Control",
    "AT": "Awareness and Training",
    "AU": "Audit and Accountability",
    "CA": "Assessment, Authorization, and Monitoring",
    "CM": "Configuration Management",
    "CP": "Contingency Planning",
    "IA": "Identification and Authentication",
    "IR": "Incident Response",
    "MA": "Maintenance",
    "MP": "Media Protection",
    "PE": "Physical and Environmental Protection",
    "PL": "Planning",
    "PM": "Program Management",
    "PS": "Personnel Security",
    "PT": "PII Processing and Transparency",
    "RA": "Risk Assessment",
    "SA": "System and Services Acquisition",
    "SC": "System and Communications Protection",
    "SI": "System and Information Integrity",
    "SR": "Supply Chain Risk Management",
}
_HIPAA_SECTIONS = {
    "302": "Applicability",
    "304": "Definitions",
    "306": "General rules",
    "308": "Administrative safeguards",
    "310": "Physical safeguards",
    "312": "Technical safeguards",
    "314": "Organizational requirements",
    "316": "Policies, procedures and documentation",
    "318": "Compliance dates",
}
_PCI_REQUIREMENTS = {
    "1": "Network security controls",
    "2": "Secure configurations",
    "3": "Protect stored account data",
    "4": "Strong cryptography in transmission",
    "5": "Protection from malicious software",
    "6": "Secure systems and software",
    "7": "Access by business need to know",
    "8": "Identify users and authenticate access",
    "9": "Physical access",
    "10": "Log and monitor all access",
    "11": "Test security regularly",
    "12": "Organisational policies and programs",
    "A1": "Multi-tenant service providers",
    "A2": "SSL and early TLS for POS POI",
    "A3": "Designated entities supplemental validation",
}
_HITRUST_CATEGORIES = {
    "00": "Information Security Management Program",
    "01": "Access Control",
    "02": "Human Resources Security",
    "03": "Risk Management",
    "04": "Security Policy",
    "05": "Organization of Information Security",
    "06": "Compliance",
    "07": "Asset Management",
    "08": "Physical and Environmental Security",
    "09": "Communications and Operations Management",
    "10": "Information Systems Acquisition, Development and Maintenance",
    "11": "Information Security Incident Management",
    "12": "Business Continuity Management",
    "13": "Privacy Practices",
}
_ISO_42001_CLAUSES = {
    "2": "Policies related to AI",
    "3": "Internal organization",
    "4": "Resources for AI systems",
    "5": "Assessing impacts of AI systems",
    "6": "AI system life cycle",
    "7": "Data for AI systems",
    "8": "Information for interested parties",
    "9": "Use of AI systems",
    "10": "Third-party and customer relationships",
}
#: Width of a DISA STIG id range (STIG ids carry no family; ranges keep folders small).
STIG_RANGE = 50


def _nist_family(control: str) -> tuple[str, str]:
    code = control[:2]
    return code.lower(), f"{code} {_NIST_FAMILIES.get(code, code)}"


def _hipaa_family(control: str) -> tuple[str, str]:
    section = control[len("§164.") : len("§164.") + 3]
    return f"164-{section}", f"§164.{section} {_HIPAA_SECTIONS.get(section, '')}".strip()


def _pci_family(control: str) -> tuple[str, str]:
    requirement = control.split(".", 1)[0]
    name = _PCI_REQUIREMENTS.get(requirement, "")
    label = (
        f"Appendix {requirement}" if requirement.startswith("A") else f"Requirement {requirement}"
    )
    folder = (
        f"req-{int(requirement):02d}" if requirement.isdigit() else f"req-{requirement.lower()}"
    )  # zero-padded: folders sort in requirement order
    return folder, f"{label}: {name}" if name else label


def _hitrust_family(control: str) -> tuple[str, str]:
    category = control[:2]
    return f"cat-{category}", f"{category} {_HITRUST_CATEGORIES.get(category, '')}".strip()


def _stig_family(control: str) -> tuple[str, str]:
    number = int(re.sub(r"\D", "", control.split("r", 1)[0]) or 0)
    low = number - number % STIG_RANGE
    return f"v-{low}", f"V-{low} to V-{low + STIG_RANGE - 1}"


def _iso_42001_family(control: str) -> tuple[str, str]:
    clause = control.split(".")[1]
    return f"a-{int(clause):02d}", f"A.{clause} {_ISO_42001_CLAUSES.get(clause, '')}".strip()


def _ai_rmf_family(control: str) -> tuple[str, str]:
    function = control.split(" ", 1)[0]
    order = ("GOVERN", "MAP", "MEASURE", "MANAGE").index(function) + 1
    return f"{order}-{function.lower()}", function.capitalize()


FAMILIES: dict[str, Callable[[str], tuple[str, str]]] = {
    "nist-800-53": _nist_family,
    "hipaa": _hipaa_family,
    "pci-dss": _pci_family,
    "hitrust": _hitrust_family,
    "disa-stig": _stig_family,
    "iso-42001": _iso_42001_family,
    "nist-ai-rmf": _ai_rmf_family,
}


def family(framework: str, control: str) -> tuple[str, str] | None:
    """The family (folder name, title) of a canonical control id, or None when the
    framework lists its controls flat (EU AI Act, MITRE ATLAS, the OWASP lists)."""
    derive = FAMILIES.get(framework)
    return derive(control) if derive else None
