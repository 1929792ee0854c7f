"""agentls: AI coding-agent CLIs orchestrated from any LSP editor."""

__version__ = "0.1.0"
