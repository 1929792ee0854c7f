"""What agentls works with, and the rules about it that hold everywhere: results and their
statuses, configuration, text and its lines, edits, paths, errors, where agentls keeps its
files. The bottom layer: it imports nothing else of agentls (see docs/architecture.md)."""
