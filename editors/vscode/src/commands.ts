// The palette commands: thin wrappers over the server's workspace/executeCommand commands.
import * as vscode from "vscode";

import { agentItems, AgentMemory, readyAgents, rememberedAgent, SERVER_DEFAULT } from "./agents";
import { EditorDiagnostic, Selection, Task, taskArgs, workflowArgs } from "./args";
import { AgentStatus, agentsMarkdown } from "./markdown";
import { ListedRun, TreeNode } from "./proposals";
import type { Decision, Review } from "./review";
import { Run, RunBook } from "./runs";

export type { ListedRun } from "./proposals";

/** Sends one of the server's commands; undefined when it failed (the user was told why, unless
 * `quiet`: then nothing is shown, for what the extension asks by itself). */
export interface Executor {
  execute<T>(command: string, argument: object, options?: { quiet?: boolean }): Promise<T | undefined>;
}

/** What the review flow, the runs view and the agent picker add to the commands. */
export interface CommandParts {
  review?: Review;
  /** The agent remembered per quick task; without it quick tasks use the server's choice. */
  memory?: AgentMemory;
  /** The runs changed (a decision, an undo): the runs view refreshes. */
  changed?: () => void;
}

const QUICK_TASKS: Task[] = ["review", "explain", "implement", "refine"];

/** A decision's argument from a runs view node (run, file or hunk) or a lens's argument. */
export function decisionOf(target: unknown): Decision | undefined {
  if (!target || typeof target !== "object") return undefined;
  const node = target as Partial<TreeNode> & Partial<Decision>;
  if (typeof node.runId !== "string") return undefined;
  if (!node.kind) return node as Decision;
  if (node.kind === "hunk" && node.hunk) return { runId: node.runId, hunks: [node.hunk], uri: node.uri };
  if (node.kind === "file" && node.uri) return { runId: node.runId, uri: node.uri };
  return { runId: node.runId };
}

function runIdOf(target: unknown): string | undefined {
  if (typeof target === "string") return target;
  const runId = (target as { runId?: unknown } | undefined)?.runId;
  return typeof runId === "string" ? runId : undefined;
}

/** The extension's output channel (the server's log). */
export interface Output {
  show(): void;
}

/** Shows markdown to the user (ReportView). */
export interface MarkdownView {
  show(name: string, markdown: string): Promise<unknown>;
}

interface Workflow {
  name: string;
  description: string;
  default: boolean;
  steps: unknown[];
  maxIterations: number;
}

interface RunReport {
  runId: string;
  status: string;
  markdown: string;
  reportUri: string | null;
  note: string;
  /** Its proposed changes are not in the files yet, and Apply run can apply them. */
  applicable?: boolean;
}

function asRun(listed: ListedRun): Run {
  const status = listed.status === "running" || listed.status === "failed" || listed.status === "cancelled"
    ? listed.status : "done";
  return { runId: listed.runId, title: listed.title, status, message: listed.note };
}

interface Target {
  uri: string;
  selection: Selection;
  diagnostics: EditorDiagnostic[];
}

function activeTarget(): Target | undefined {
  const editor = vscode.window.activeTextEditor;
  if (!editor) {
    void vscode.window.showWarningMessage("agentls: open a file and select the code first.");
    return undefined;
  }
  const { selection, document } = editor;
  return {
    uri: document.uri.toString(),
    selection: {
      start: { line: selection.start.line, character: selection.start.character },
      end: { line: selection.end.line, character: selection.end.character },
      isEmpty: selection.isEmpty,
    },
    diagnostics: vscode.languages.getDiagnostics(document.uri).map((d) => ({
      source: d.source,
      message: d.message,
      range: {
        start: { line: d.range.start.line, character: d.range.start.character },
        end: { line: d.range.end.line, character: d.range.end.character },
      },
    })),
  };
}

/** A run command's argument without `uri` (a keybinding's `args`) gets the active editor's
 * document and selection, as the palette commands use them. */
export function withEditorTarget(command: string, argument: Record<string, unknown>): Record<string, unknown> {
  if (argument.uri || (command !== "agentls.runWorkflow" && command !== "agentls.runTask")) return argument;
  const target = activeTarget();
  if (!target) return argument;
  const base = command === "agentls.runTask"
    ? taskArgs(target.uri, target.selection, (argument.task ?? "review") as Task, { diagnostics: target.diagnostics })
    : workflowArgs(target.uri, target.selection, { diagnostics: target.diagnostics });
  return { ...base, ...argument };
}

function describe(run: Run): string {
  return `${run.status === "running" ? "$(sync~spin) " : ""}${run.title}`;
}

export class Commands {
  constructor(private server: Executor, private book: RunBook, private view: MarkdownView,
    private output: Output = { show: () => undefined }, private parts: CommandParts = {}) {}

  /** The command id → handler table that `activate` registers. */
  handlers(): Record<string, (...args: unknown[]) => unknown> {
    return {
      "agentls.runWorkflowPick": () => this.runWorkflowPick(),
      "agentls.runOnChanges": () => this.runOnChanges(),
      "agentls.runOnFolder": (folder?: unknown) =>
        this.runOnFiles(folder instanceof vscode.Uri ? folder : undefined),
      "agentls.reviewSelection": () => this.task("review"),
      "agentls.implement": () => this.implement(),
      "agentls.refine": () => this.task("refine"),
      "agentls.explain": () => this.task("explain"),
      "agentls.followUpPick": (run?: unknown) => this.followUp(runIdOf(run)),
      "agentls.applyRunPick": (runId?: unknown) => this.applyRun(typeof runId === "string" ? runId : undefined),
      "agentls.rerunPick": (run?: unknown) => this.rerun(runIdOf(run)),
      "agentls.reviewProposal": (run?: unknown) => this.reviewProposal(runIdOf(run)),
      "agentls.undoRunPick": (run?: unknown) => this.undoRun(runIdOf(run)),
      "agentls.chooseAgent": (task?: unknown) => this.chooseAgent(typeof task === "string" ? task as Task : undefined),
      "agentls.runs.accept": (target?: unknown) => this.decide("accept", target),
      "agentls.runs.reject": (target?: unknown) => this.decide("reject", target),
      "agentls.review.acceptFile": (uri?: unknown) => this.decideFile("accept", uri),
      "agentls.review.rejectFile": (uri?: unknown) => this.decideFile("reject", uri),
      "agentls.runs.review": (node?: unknown) => this.reviewNode(node as TreeNode | undefined),
      "agentls.runs.report": (node?: unknown) => this.showReport(runIdOf(node)),
      "agentls.runs.refresh": () => this.parts.changed?.(),
      "agentls.cancelRun": () => this.cancelRun(),
      "agentls.showAgents": () => this.showAgents(),
      "agentls.clearReview": () => this.clearReview(),
      "agentls.showReport": (runId?: unknown) => this.showReport(typeof runId === "string" ? runId : undefined),
      "agentls.showMenu": () => this.showMenu(),
      "agentls.runMenu": () => this.runMenu(),
    };
  }

  async runWorkflowPick(): Promise<string | undefined> {
    const target = activeTarget();
    if (!target) return undefined;
    const workflow = await this.pickWorkflow(target.uri, target.selection.isEmpty ? "the file" : "the selection");
    if (!workflow) return undefined;
    const args = workflowArgs(target.uri, target.selection, { workflow, diagnostics: target.diagnostics });
    return this.start("agentls.runWorkflow", args);
  }

  /** One of the server's workflows for `uri`, picked to run on `scope`. */
  private async pickWorkflow(uri: string, scope: string): Promise<string | undefined> {
    const workflows = await this.server.execute<Workflow[]>("agentls.listWorkflows", { uri });
    if (!workflows) return undefined;
    const pick = await vscode.window.showQuickPick(
      workflows.map((w) => ({ label: w.name, description: w.default ? "default" : "", detail: w.description })),
      { title: `agentls: run a workflow on ${scope}`, placeHolder: "workflow" });
    return pick?.label;
  }

  /** Run workflow… on the files changed since a revision (HEAD unless the user says). */
  async runOnChanges(): Promise<string | undefined> {
    const revision = await vscode.window.showInputBox({
      title: "agentls: run a workflow on what changed",
      prompt: "Since which revision? The files whose text differs from it, and untracked ones.",
      value: "HEAD",
      ignoreFocusOut: true,
    });
    if (!revision?.trim()) return undefined;
    return this.runOnFiles(undefined, revision.trim());
  }

  /** Run workflow… on a folder's files (the explorer's folder, else the workspace's), or with
   * `changed` on what changed in it. */
  async runOnFiles(folder?: vscode.Uri, changed?: string): Promise<string | undefined> {
    const root = folder ?? vscode.workspace.workspaceFolders?.[0]?.uri;
    if (!root) {
      void vscode.window.showWarningMessage("agentls: open a folder first.");
      return undefined;
    }
    const uri = root.toString();
    const scope = changed ? `what changed since ${changed}` : `the files of ${root.path.split("/").pop()}`;
    const workflow = await this.pickWorkflow(uri, scope);
    if (!workflow) return undefined;
    return this.start("agentls.runWorkflow", { uri, workflow, ...(changed ? { changed } : {}) });
  }

  async task(task: Task, instruction?: string): Promise<string | undefined> {
    const target = activeTarget();
    if (!target) return undefined;
    const agent = await this.agentFor(task, target.uri);
    if (agent === undefined) return undefined;
    const args = taskArgs(target.uri, target.selection, task,
      { instruction, diagnostics: target.diagnostics, agent: agent || undefined });
    return this.start("agentls.runTask", args);
  }

  /** The agent for a quick task: the one remembered while it is ready, else one the user picks
   * from the ready agents (remembered from then on); SERVER_DEFAULT for the configured one;
   * undefined when the user dismissed the pick. */
  private async agentFor(task: Task, uri: string, again = false): Promise<string | undefined> {
    const memory = this.parts.memory;
    if (!memory) return SERVER_DEFAULT;
    const remembered = memory.get(task);
    if (remembered === SERVER_DEFAULT && !again) return SERVER_DEFAULT;
    const agents = await this.server.execute<AgentStatus[]>("agentls.listAgents", uri ? { uri } : {});
    if (!agents) return undefined;
    const ready = readyAgents(agents, task);
    const kept = again ? undefined : rememberedAgent(remembered, ready);
    if (kept !== undefined) return kept;
    if (ready.length === 0) {
      void vscode.window.showWarningMessage("agentls: no agent is ready (Show agents tells what to fix); " +
        "the configured agent runs.");
      return SERVER_DEFAULT;
    }
    const pick = await vscode.window.showQuickPick(agentItems(ready, remembered), {
      title: `agentls: which agent should ${task}?`,
      placeHolder: "Remembered for this workspace (\"Choose the agent for quick tasks…\" asks again)",
    });
    if (!pick) return undefined;
    await memory.remember(task, pick.agent);
    return pick.agent;
  }

  /** Picks the agent of a quick task again (`task`'s, else one the user picks). */
  async chooseAgent(task?: Task): Promise<string | undefined> {
    let chosen = task;
    if (!chosen) {
      const memory = this.parts.memory;
      const pick = await vscode.window.showQuickPick(QUICK_TASKS.map((name) => {
        const now = memory?.get(name);
        return { label: name, description: now === undefined ? "not chosen yet"
          : now === SERVER_DEFAULT ? "now: the configured agent" : `now: ${now}` };
      }), { title: "agentls: choose the agent of which quick task?" });
      if (!pick) return undefined;
      chosen = pick.label as Task;
    }
    const uri = vscode.window.activeTextEditor?.document.uri;
    return this.agentFor(chosen, uri?.scheme === "file" ? uri.toString() : "", true);
  }

  async implement(): Promise<string | undefined> {
    if (!vscode.window.activeTextEditor) return this.task("implement");
    const instruction = await vscode.window.showInputBox({
      title: "agentls: implement",
      prompt: "What should the agent implement here? (the selection, or the file when nothing is selected)",
      placeHolder: "e.g. validate the input and raise ValueError on negative amounts",
      ignoreFocusOut: true,
    });
    if (!instruction?.trim()) return undefined;
    return this.task("implement", instruction);
  }

  private async start(command: string, args: object): Promise<string | undefined> {
    const answer = await this.server.execute<{ runId: string }>(command, args);
    return answer?.runId;
  }

  /** A run to act on: the only candidate, or a pick with the most recent first. */
  async pickRun(runs: Run[], placeHolder: string): Promise<Run | undefined> {
    if (runs.length <= 1) return runs[0];
    const pick = await vscode.window.showQuickPick(
      runs.map((run, index) => ({
        label: describe(run),
        description: index === 0 ? `${run.runId} (latest)` : run.runId,
        detail: run.message,
        run,
      })), { placeHolder });
    return pick?.run;
  }

  /** The server's runs of this session that `wanted` accepts, as runs to pick from. */
  private async serverRuns(wanted: (run: ListedRun) => boolean): Promise<{ runs: Run[]; listed: ListedRun[] } | undefined> {
    const listed = await this.server.execute<ListedRun[]>("agentls.listRuns", {});
    return listed && { runs: listed.filter(wanted).map(asRun), listed };
  }

  async followUp(runId?: string): Promise<string | undefined> {
    const answer = await this.serverRuns((run) => run.followable && (!runId || run.runId === runId));
    if (!answer) return undefined;
    const { runs, listed } = answer;
    if (runs.length === 0) {
      void vscode.window.showInformationMessage(listed.some((run) => run.status === "running")
        ? "agentls: wait for the run to finish before following up on it."
        : "agentls: no finished run to follow up on yet.");
      return undefined;
    }
    const run = await this.pickRun(runs, "Which run to follow up on?");
    if (!run) return undefined;
    const message = await vscode.window.showInputBox({
      title: `agentls: follow up on ${run.title}`,
      prompt: "Your message to the agents (they keep the run's conversation)",
      ignoreFocusOut: true,
    });
    if (!message?.trim()) return undefined;
    return this.start("agentls.followUp", { runId: run.runId, message: message.trim() });
  }

  /** Runs a run's workflow or task again on the same code, every agent asked afresh (no
   * cached answer): `runId`'s, else the only finished run or the one picked. */
  async rerun(runId?: string): Promise<string | undefined> {
    let id = runId;
    if (!id) {
      const runs = this.book.recent().filter((run) => run.status !== "running" && run.status !== "lost");
      if (runs.length === 0) {
        void vscode.window.showInformationMessage("agentls: no finished run to run again yet.");
        return undefined;
      }
      id = (await this.pickRun(runs, "Which run to run again without the cache?"))?.runId;
      if (!id) return undefined;
    }
    return this.start("agentls.rerun", { runId: id, noCache: true });
  }

  /** Opens the review diffs of `runId`'s proposal, else of the only run with changes to
   * review, or one picked. */
  async reviewProposal(runId?: string): Promise<number> {
    const review = this.parts.review;
    if (!review) return 0;
    let id = runId;
    if (!id) {
      const answer = await this.serverRuns((run) => (run.proposal?.pending ?? 0) > 0);
      if (!answer) return 0;
      if (answer.runs.length === 0) {
        void vscode.window.showInformationMessage("agentls: no run has changes to review.");
        return 0;
      }
      id = (await this.pickRun(answer.runs, "Which run's proposal to review?"))?.runId;
      if (!id) return 0;
    }
    return review.open(id);
  }

  /** A runs view file or hunk: its diff, at the hunk. */
  private async reviewNode(node: TreeNode | undefined): Promise<number> {
    if (!node || !this.parts.review) return 0;
    if (node.kind === "run") return this.reviewProposal(node.runId);
    return this.parts.review.open(node.runId, { path: node.path, line: node.range?.start.line });
  }

  /** Accept or reject a runs view node, a lens's hunks, or (none given) a pick of the runs with
   * pending changes. */
  async decide(what: "accept" | "reject", target?: unknown): Promise<unknown> {
    const review = this.parts.review;
    if (!review) return undefined;
    let decision = decisionOf(target);
    if (!decision) {
      const answer = await this.serverRuns((run) => (run.proposal?.pending ?? 0) > 0);
      const run = answer && await this.pickRun(answer.runs, `Which run's changes to ${what}?`);
      if (!run) return undefined;
      decision = { runId: run.runId };
    }
    return what === "accept" ? review.accept(decision) : review.reject(decision);
  }

  /** Accept or reject every change of the file in the review diff (its title buttons). */
  private async decideFile(what: "accept" | "reject", uri?: unknown): Promise<unknown> {
    const review = this.parts.review;
    const shown = uri instanceof vscode.Uri ? uri : vscode.window.activeTextEditor?.document.uri;
    const decision = review?.fileDecision(shown);
    if (!review || !decision) return undefined;
    return what === "accept" ? review.accept(decision) : review.reject(decision);
  }

  /** Takes back what a run applied or had accepted, keeping later edits elsewhere. */
  async undoRun(runId?: string): Promise<string[] | undefined> {
    let id = runId;
    if (!id) {
      const answer = await this.serverRuns((run) => ["applied", "partly applied"].includes(run.state ?? "") ||
        (run.proposal?.accepted ?? 0) > 0);
      if (!answer) return undefined;
      if (answer.runs.length === 0) {
        void vscode.window.showInformationMessage("agentls: no run has changes to undo.");
        return undefined;
      }
      id = (await this.pickRun(answer.runs, "Which run's changes to undo?"))?.runId;
      if (!id) return undefined;
    }
    const answer = await this.server.execute<{ undone: string[]; note: string }>("agentls.undoRun", { runId: id });
    if (answer) vscode.window.setStatusBarMessage(`agentls: ${answer.note || `undone in ${answer.undone.join(", ")}`}`, 5000);
    this.parts.changed?.();
    if (answer) await this.parts.review?.load(id);
    return answer?.undone;
  }

  async cancelRun(): Promise<boolean> {
    const running = this.book.running();
    if (running.length === 0) {
      void vscode.window.showInformationMessage("agentls: no run is going.");
      return false;
    }
    const run = await this.pickRun(running, "Which run to cancel?");
    if (!run) return false;
    return this.cancel(run);
  }

  private async cancel(run: Run): Promise<boolean> {
    const answer = await this.server.execute<{ cancelled: boolean }>("agentls.cancel", { runId: run.runId });
    if (answer && !answer.cancelled) this.book.finished(run.runId, "it had already finished");
    return answer?.cancelled ?? false;
  }

  async showAgents(): Promise<void> {
    const uri = vscode.window.activeTextEditor?.document.uri;
    const agents = await this.server.execute<AgentStatus[]>("agentls.listAgents",
      uri?.scheme === "file" ? { uri: uri.toString() } : {});
    if (agents) await this.view.show("agents", agentsMarkdown(agents));
  }

  async clearReview(): Promise<void> {
    const answer = await this.server.execute<{ cleared: number }>("agentls.clearDiagnostics", {});
    if (answer) {
      vscode.window.setStatusBarMessage(`agentls: review diagnostics cleared in ${answer.cleared} file(s)`, 5000);
    }
  }

  async showReport(runId?: string): Promise<void> {
    let run = runId ? this.book.get(runId) ?? { runId } as Run : undefined;
    if (!run) {
      const runs = this.book.recent();
      if (runs.length === 0) {
        void vscode.window.showInformationMessage("agentls: no run yet in this window.");
        return;
      }
      run = await this.pickRun(runs, "Which run's report?");
      if (!run) return;
    }
    const report = await this.server.execute<RunReport>("agentls.showRun", { runId: run.runId });
    if (!report) return;
    await this.view.show(`run-${run.runId}`, report.markdown);
    // The markdown preview runs no command links (microsoft/vscode#215939): a button instead.
    if (report.applicable) await this.offerApply(run.runId, "agentls: this run's changes are not applied.");
  }

  /** A message with an Apply button for a run whose changes are not applied. */
  async offerApply(runId: string, message: string, ...others: string[]): Promise<string | undefined> {
    const choice = await vscode.window.showWarningMessage(message, "Apply", ...others);
    if (choice === "Apply") await this.applyRun(runId);
    return choice;
  }

  /** Applies a run's proposed changes that were not applied (declined, discarded, refused)
   * without running its agents again: `runId`'s, else the only such run or the one picked. */
  async applyRun(runId?: string): Promise<boolean> {
    let id = runId;
    if (!id) {
      const answer = await this.serverRuns((run) => run.applicable);
      if (!answer) return false;
      if (answer.runs.length === 0) {
        void vscode.window.showInformationMessage("agentls: no run has changes left to apply.");
        return false;
      }
      id = (await this.pickRun(answer.runs, "Which run's changes to apply?"))?.runId;
      if (!id) return false;
    }
    const applied = await this.server.execute<{ applied: boolean; note: string }>("agentls.applyRun", { runId: id });
    if (applied?.applied) vscode.window.setStatusBarMessage(`agentls: ${applied.note}`, 5000);
    this.parts.changed?.();
    return applied?.applied ?? false;
  }

  /** The status bar item's click while runs go: what to do with them. Nothing is cancelled
   * unless the user picks "Cancel <run>". */
  async runMenu(): Promise<void> {
    const running = this.book.running();
    if (running.length === 0) return this.showMenu();
    const items: (vscode.QuickPickItem & { act: () => unknown })[] = [
      { label: "$(bell) Show progress", description: "the runs' notifications",
        act: () => vscode.commands.executeCommand("notifications.showList") },
      { label: "$(output) Show output", description: "the agentls log", act: () => this.output.show() },
      ...running.map((run) => ({ label: `$(stop-circle) Cancel ${run.title}`, description: run.runId,
        detail: run.message, act: () => this.cancel(run) })),
      { label: "$(book) Open report…", act: () => this.showReport() },
    ];
    const going = `${running.length} run${running.length === 1 ? "" : "s"} going`;
    const pick = await vscode.window.showQuickPick(items, { title: `agentls: ${going}`, placeHolder: "What to do?" });
    await pick?.act();
  }

  async showMenu(): Promise<void> {
    const items = [
      { label: "$(play) Run workflow…", command: "agentls.runWorkflowPick" },
      { label: "$(checklist) Review selection", command: "agentls.reviewSelection" },
      { label: "$(edit) Implement…", command: "agentls.implement" },
      { label: "$(diff) Review proposal…", command: "agentls.reviewProposal" },
      { label: "$(comment-discussion) Follow up…", command: "agentls.followUpPick" },
      { label: "$(refresh) Run again without the cache…", command: "agentls.rerunPick" },
      { label: "$(check) Apply run…", command: "agentls.applyRunPick" },
      { label: "$(output) Show run report", command: "agentls.showReport" },
      { label: "$(discard) Undo run…", command: "agentls.undoRunPick" },
      { label: "$(hubot) Show agents", command: "agentls.showAgents" },
      { label: "$(person) Choose the agent for quick tasks…", command: "agentls.chooseAgent" },
      { label: "$(clear-all) Clear review diagnostics", command: "agentls.clearReview" },
    ];
    const pick = await vscode.window.showQuickPick(items, { placeHolder: "agentls" });
    if (pick) await vscode.commands.executeCommand(pick.command);
  }
}
