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


FRAMEWORKS: dict[str, Framework] = {f.id: f for f in (
    Framework("nist-800-53", "NIST SP 800-53 Rev. 5",
              re.compile(r"(AC|AT|AU|CA|CM|CP|IA|IR|MA|MP|PE|PL|PM|PS|PT|RA|SA|SC|SI|SR)"
                         r"-\d{1,2}(\(\d{1,2}\))?"), _nist, "AC-6(9)"),
    Framework("hipaa", "HIPAA Security Rule",
              re.compile(r"§164\.3(0[2-9]|1[0-8])(\([a-zA-Z0-9]{1,4}\)){0,5}"), _hipaa,
              "§164.312(a)(2)(iv)"),
    Framework("pci-dss", "PCI DSS v4.0",
              re.compile(r"(A[1-3]\.)?\d{1,2}(\.\d{1,2}){0,3}"), _upper, "8.3.6"),
    Framework("hitrust", "HITRUST CSF v11", re.compile(r"\d{2}\.[a-z]{1,2}"), _hitrust, "01.a"),
    Framework("owasp-llm", "OWASP Top 10 for LLM Applications",
              re.compile(r"LLM(0[1-9]|10):2025"), _owasp_llm, "LLM01:2025"),
    Framework("owasp-agentic", "OWASP Agentic AI Threats",
              re.compile(r"T([1-9]|1[0-5])"), _upper, "T1"),
    Framework("mitre-atlas", "MITRE ATLAS",
              re.compile(r"AML\.[TM]\d{4}(\.\d{3})?"), _upper, "AML.T0051"),
    Framework("eu-ai-act", "EU AI Act",
              re.compile(r"Art\. \d{1,3}(\(\d{1,2}\))?(\([a-z]\))?|Annex [IVX]{1,5}"), _eu_ai_act,
              "Art. 12"),
    Framework("iso-42001", "ISO/IEC 42001", re.compile(r"A\.\d{1,2}(\.\d{1,2}){1,2}"), _upper,
              "A.6.2.8"),
    Framework("nist-ai-rmf", "NIST AI RMF 1.0",
              re.compile(r"(GOVERN|MAP|MEASURE|MANAGE) \d{1,2}\.\d{1,2}"), _ai_rmf, "GOVERN 1.1"),
    Framework("disa-stig", "DISA STIG",
              re.compile(r"V-\d{5,6}|SV-\d{5,6}r\d+_rule"), _stig, "V-268078"),
)}


def split_key(key: str) -> tuple[str, str] | None:
    """``nist-800-53/AC-2`` -> (``nist-800-53``, ``AC-2``); None without a known framework."""
    framework, slash, control = key.partition("/")
    if not slash or framework not in FRAMEWORKS:
        return None
    return framework, control
