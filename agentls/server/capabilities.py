"""What the server declares to the editor: the code action kinds it offers, the commands it
answers (``workspace/executeCommand``), the section of the editor's settings it reads. Kept
apart and light: declaring them at ``initialize`` loads nothing else."""

from __future__ import annotations

from enum import StrEnum

from lsprotocol import types

SECTION = "agentls"
"""The editor's settings for agentls (``workspace/configuration``, ``initializationOptions``)."""

KIND_REWRITE = "refactor.rewrite.agentls"
KIND_REVIEW = "source.agentls.review"
KIND_EXPLAIN = "source.agentls.explain"
CODE_ACTIONS = types.CodeActionOptions(
    code_action_kinds=[types.CodeActionKind.QuickFix, KIND_REWRITE, KIND_REVIEW, KIND_EXPLAIN],
    resolve_provider=True,
)


class Command(StrEnum):
    """The ``workspace/executeCommand`` ids the server answers (docs/server.md#commands; the
    editor integrations send these, and a test checks they name no other)."""

    RUN_WORKFLOW = "agentls.runWorkflow"
    RUN_TASK = "agentls.runTask"
    RERUN = "agentls.rerun"
    CANCEL = "agentls.cancel"
    FOLLOW_UP = "agentls.followUp"
    SHOW_RUN = "agentls.showRun"
    LIST_RUNS = "agentls.listRuns"
    APPLY_RUN = "agentls.applyRun"
    LIST_WORKFLOWS = "agentls.listWorkflows"
    LIST_AGENTS = "agentls.listAgents"
    TRUST = "agentls.trust"
    CLEAR_DIAGNOSTICS = "agentls.clearDiagnostics"
    ACCEPT_CHANGE = "agentls.acceptChange"
    REJECT_CHANGE = "agentls.rejectChange"
    SHOW_PROPOSAL = "agentls.showProposal"
    UNDO_RUN = "agentls.undoRun"


ANSWERED_LATER = frozenset(
    {
        Command.APPLY_RUN,
        Command.LIST_AGENTS,
        Command.ACCEPT_CHANGE,
        Command.REJECT_CHANGE,
        Command.UNDO_RUN,
    }
)
"""The commands whose answer waits on something (the editor applying an edit, the agents'
``--version``): their handlers are coroutines; the others answer at once."""
