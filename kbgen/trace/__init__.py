"""Traceability: frameworks and id grammars, controls from PRDs, the registers, the trace
model and graph, macros and exports."""
