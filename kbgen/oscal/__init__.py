"""OSCAL export: the flake's control implementations and the test evidence, as OSCAL.

Plain functions over the trace model that return each document as a JSON-ready dict
(OSCAL 1.1.2); the CLI writes them (``kbgen export oscal component-definition`` and
``assessment-results``). Nothing here needs an OSCAL library at run time; the tests
validate the output with compliance-trestle's models (the ``oscal`` extra).
See docs/oscal.md.
"""

from __future__ import annotations

from kbgen.oscal.assessment import FINDING_STATUS, assessment_results
from kbgen.oscal.component import component_definition
from kbgen.oscal.ids import OSCAL_VERSION, oscal_control_id

MODELS = ("component-definition", "assessment-results")

__all__ = [
    "FINDING_STATUS",
    "MODELS",
    "OSCAL_VERSION",
    "assessment_results",
    "component_definition",
    "oscal_control_id",
]
