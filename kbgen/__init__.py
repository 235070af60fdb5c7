"""kbgen: compile a compliance vault, PRDs and a NixOS flake into one checked model."""

__version__ = "0.1.0"
