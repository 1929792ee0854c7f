"""``agentls shell``: a conversation with the agents in a terminal.

Each line is a request. A plain line continues the last run of this shell when there is one
for the same file (a follow-up: same workflow, the code as last proposed, the agents' own
sessions resumed); otherwise it starts a new run. ``/new TEXT`` always starts a new run and
``/follow TEXT`` always continues the last one.
"""

from __future__ import annotations

from pathlib import Path

import click

from agentls.cli.common import err, fail, find_workspace, load_or_fail, out, say
from agentls.cli.exec_cmd import parse_target
from agentls.cli.render import render_workflow
from agentls.cli.run_cmd import interruptibly, say_undone
from agentls.domain.errors import AgentlsError
from agentls.domain.results import LineRange, WorkflowResult
from agentls.orchestration.apply import apply_result, undo
from agentls.orchestration.conversation import follow_up
from agentls.orchestration.history import History
from agentls.orchestration.leftovers import prune_leftovers_later
from agentls.orchestration.report import edit_diffs
from agentls.orchestration.runtime import Runtime, cli_client
from agentls.orchestration.workflow import CancelToken, WorkflowEngine, WorkflowRequest
from agentls.signals import Terminated
from agentls.signals import run as run_until_signalled

HELP = """\
Type a request. A plain line continues the last run on the same file, or starts one.
  /new TEXT        start a new run          /follow TEXT   continue the last run
  /file PATH[:A-B] change the file          /workflow NAME change the workflow
  /diff            show the last proposal   /apply         write it (with backups)
  /undo            restore what /apply wrote /quit         leave"""


@click.command()
@click.argument("target", metavar="[PATH[:START-END]]", required=False)
@click.option("--workflow", help="Workflow for new runs (default: settings.default_workflow).")
@click.option("--workspace", type=click.Path(path_type=Path, file_okay=False, exists=True))
def shell(target: str | None, workflow: str | None, workspace: Path | None) -> None:
    """Talk to the agents: each line is a new task or a follow-up."""
    path, selection = parse_target(target) if target else (None, None)
    root = (workspace or find_workspace(Path(path or "."))).resolve()
    config = load_or_fail(root)
    state = _Shell(
        root=root,
        engine=WorkflowEngine(config, runtime=Runtime.create(config, cli_client())),
        history=History(root),
        workflow=workflow or config.settings.default_workflow,
        path=str(Path(path).resolve().relative_to(root)) if path else None,
        selection=selection,
    )
    prune_leftovers_later([root])
    err.print(HELP)
    while True:
        try:
            line = input("agentls> ").strip()
        except (EOFError, KeyboardInterrupt):
            break
        if not line:
            continue
        if line in ("/quit", "/exit"):
            break
        try:
            state.handle(line)
        except AgentlsError as error:
            say(("agentls:", "red"), f" {error}", console=err)
        except KeyboardInterrupt:
            err.print("interrupted; the agents were stopped")
        except Terminated as stopped:
            fail(f"{stopped}; every agent was stopped, its sandbox removed", stopped.exit_code)


class _Shell:
    def __init__(
        self,
        root: Path,
        engine: WorkflowEngine,
        history: History,
        workflow: str,
        path: str | None,
        selection: LineRange | None,
    ) -> None:
        self.root = root
        self.engine = engine
        self.history = history
        self.workflow = workflow
        self.path = path
        self.selection = selection
        self.last: WorkflowResult | None = None
        self.last_path: str | None = None
        self.last_turn = 0

    def handle(self, line: str) -> None:
        command, _, rest = line.partition(" ")
        rest = rest.strip()
        if command == "/file":
            path, self.selection = parse_target(rest)
            self.path = str(Path(path).resolve().relative_to(self.root))
            out.print(f"file: {self.path}" + (f":{self.selection}" if self.selection else ""))
        elif command == "/workflow":
            self.workflow = rest
            out.print(f"workflow: {rest}")
        elif command == "/new":
            self._new(rest)
        elif command == "/follow":
            self._follow(rest)
        elif command == "/diff":
            out.print("".join(edit_diffs(self._need_last()).values()) or "(no changes)")
        elif command == "/apply":
            last = self._need_last()
            protected = self.engine.config.settings.protected_paths
            done = apply_result(self.root, self.history, last, self.last_turn, protected)
            self.engine.runtime.record(
                "edits_applied", run_id=last.run_id, files=done.written + done.deleted, via="shell"
            )
            out.print(f"applied to {', '.join(done.written + done.deleted) or 'nothing'}")
        elif command == "/undo":
            say_undone(undo(self.root, self.history, self._need_last().run_id))
        elif command.startswith("/"):
            out.print(HELP)
        elif self.last is not None and self.last_path == self.path:
            self._follow(line)
        else:
            self._new(line)

    def _new(self, message: str) -> None:
        if self.path is None:
            raise AgentlsError("no file yet: /file PATH[:START-END] first")
        request = WorkflowRequest(
            workflow=self.workflow,
            workspace=self.root,
            path=self.path,
            selection=self.selection,
            instruction=message or None,
        )
        path, selection = self.path, self.selection

        async def go(token: CancelToken) -> WorkflowResult:
            result = await self.engine.run(request, token)
            self.history.record_run(result, path, selection, message or None)
            return result

        self._show(run_until_signalled(interruptibly(go)), 0)

    def _follow(self, message: str) -> None:
        last = self._need_last()

        async def go(token: CancelToken) -> tuple[WorkflowResult, int]:
            done = await follow_up(self.engine, self.history, last.run_id, message, token)
            return done.result, done.turn

        self._show(*run_until_signalled(interruptibly(go)))

    def _need_last(self) -> WorkflowResult:
        if self.last is None:
            raise AgentlsError("no run yet in this shell: type a request first")
        return self.last

    def _show(self, result: WorkflowResult, turn: int) -> None:
        self.last, self.last_path, self.last_turn = result, self.path, turn
        render_workflow(out, result)
