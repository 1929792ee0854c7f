// The palette commands: thin wrappers over the server's workspace/executeCommand commands.
import * as vscode from "vscode";

import { EditorDiagnostic, Selection, Task, taskArgs, workflowArgs } from "./args";
import { AgentStatus, agentsMarkdown } from "./markdown";
import { Run, RunBook } from "./runs";

/** Sends one of the server's commands; undefined when it failed (the user was told why). */
export interface Executor {
  execute<T>(command: string, argument: object): Promise<T | undefined>;
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
  constructor(private server: Executor, private book: RunBook, private view: MarkdownView) {}

  /** The command id → handler table that `activate` registers. */
  handlers(): Record<string, (...args: unknown[]) => unknown> {
    return {
      "agentls.runWorkflowPick": () => this.runWorkflowPick(),
      "agentls.reviewSelection": () => this.task("review"),
      "agentls.implement": () => this.implement(),
      "agentls.refine": () => this.task("refine"),
      "agentls.explain": () => this.task("explain"),
      "agentls.followUpPick": () => this.followUp(),
      "agentls.cancelRun": () => this.cancelRun(),
      "agentls.showAgents": () => this.showAgents(),
      "agentls.clearReview": () => this.clearReview(),
      "agentls.showReport": (runId?: unknown) => this.showReport(typeof runId === "string" ? runId : undefined),
      "agentls.showMenu": () => this.showMenu(),
    };
  }

  async runWorkflowPick(): Promise<string | undefined> {
    const target = activeTarget();
    if (!target) return undefined;
    const workflows = await this.server.execute<Workflow[]>("agentls.listWorkflows", { uri: target.uri });
    if (!workflows) return undefined;
    const scope = target.selection.isEmpty ? "the file" : "the selection";
    const pick = await vscode.window.showQuickPick(
      workflows.map((w) => ({ label: w.name, description: w.default ? "default" : "", detail: w.description })),
      { title: `agentls: run a workflow on ${scope}`, placeHolder: "workflow" });
    if (!pick) return undefined;
    const args = workflowArgs(target.uri, target.selection, { workflow: pick.label, diagnostics: target.diagnostics });
    return this.start("agentls.runWorkflow", args);
  }

  async task(task: Task, instruction?: string): Promise<string | undefined> {
    const target = activeTarget();
    if (!target) return undefined;
    const args = taskArgs(target.uri, target.selection, task, { instruction, diagnostics: target.diagnostics });
    return this.start("agentls.runTask", args);
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

  async followUp(): Promise<string | undefined> {
    const runs = this.book.recent().filter((run) => run.status !== "running" && run.status !== "lost");
    if (runs.length === 0) {
      void vscode.window.showInformationMessage(this.book.running().length
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

  async cancelRun(): Promise<boolean> {
    const running = this.book.running();
    if (running.length === 0) {
      void vscode.window.showInformationMessage("agentls: no run is going.");
      return false;
    }
    const run = await this.pickRun(running, "Which run to cancel?");
    if (!run) return false;
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
    if (report) await this.view.show(`run-${run.runId}`, report.markdown);
  }

  async showMenu(): Promise<void> {
    const items = [
      { label: "$(play) Run workflow…", command: "agentls.runWorkflowPick" },
      { label: "$(checklist) Review selection", command: "agentls.reviewSelection" },
      { label: "$(edit) Implement…", command: "agentls.implement" },
      { label: "$(comment-discussion) Follow up…", command: "agentls.followUpPick" },
      { label: "$(output) Show run report", command: "agentls.showReport" },
      { label: "$(hubot) Show agents", command: "agentls.showAgents" },
      { label: "$(clear-all) Clear review diagnostics", command: "agentls.clearReview" },
    ];
    const pick = await vscode.window.showQuickPick(items, { placeHolder: "agentls" });
    if (pick) await vscode.commands.executeCommand(pick.command);
  }
}
