// The agentls extension: starts `agentls serve` with vscode-languageclient and adds palette
// commands and a status bar item over the server's workspace/executeCommand commands.
import * as vscode from "vscode";
import { LanguageClient, LanguageClientOptions, ServerOptions, State } from "vscode-languageclient/node";

import { INSTALL_URL, initializationOptions, missingBinaryMessage, RunBook, runTarget, serverCommand } from "./logic";

let client: LanguageClient | undefined;
const book = new RunBook();

function settings() {
  const config = vscode.workspace.getConfiguration("agentls");
  return {
    path: config.get<string>("server.path", "agentls"),
    python: config.get<string>("server.python", ""),
    editor: {
      defaultWorkflow: config.get<string>("defaultWorkflow", ""),
      applyMode: config.get<string>("applyMode", "apply"),
      agents: config.get<Record<string, unknown>>("agents", {}),
      maxContextBytes: config.get<number | null>("maxContextBytes", null),
      maxOpenDocumentsBytes: config.get<number>("maxOpenDocumentsBytes", 60000),
    },
  };
}

async function execute<T>(command: string, argument: object): Promise<T | undefined> {
  if (!client) {
    void vscode.window.showErrorMessage("agentls is not running.");
    return undefined;
  }
  try {
    return (await client.sendRequest("workspace/executeCommand", { command, arguments: [argument] })) as T;
  } catch (error) {
    void vscode.window.showErrorMessage(`agentls: ${(error as Error).message}`);
    return undefined;
  }
}

function editorTarget(extra: object = {}) {
  const editor = vscode.window.activeTextEditor;
  if (!editor) {
    void vscode.window.showWarningMessage("agentls: open a file first.");
    return undefined;
  }
  const selection = editor.selection;
  return runTarget(editor.document.uri.toString(), {
    start: { line: selection.start.line, character: selection.start.character },
    end: { line: selection.end.line, character: selection.end.character },
    isEmpty: selection.isEmpty,
  }, extra);
}

async function start(title: string, command: string, extra: object, status: vscode.StatusBarItem) {
  const target = editorTarget(extra);
  if (!target) return;
  const answer = await execute<{ runId: string }>(command, target);
  if (answer?.runId) {
    book.started(answer.runId, title);
    status.text = book.statusText();
  }
}

async function showMarkdown(markdown: string) {
  const document = await vscode.workspace.openTextDocument({ language: "markdown", content: markdown });
  await vscode.window.showTextDocument(document, { preview: true });
}

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const status = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Left, 50);
  status.text = book.statusText();
  status.command = "agentls.cancelRun";
  status.tooltip = "agentls runs (click to cancel one)";
  status.show();
  context.subscriptions.push(status);

  const { path, python, editor } = settings();
  const { command, args } = serverCommand(path, python);
  const serverOptions: ServerOptions = { command, args };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [{ scheme: "file" }, { scheme: "untitled" }],
    initializationOptions: initializationOptions(editor),
    synchronize: { configurationSection: "agentls" },
  };
  client = new LanguageClient("agentls", "agentls", serverOptions, clientOptions);
  client.onDidChangeState((event) => {
    if (event.newState === State.Stopped) status.text = "$(error) agentls stopped";
  });
  try {
    await client.start();
  } catch (error) {
    const choice = await vscode.window.showErrorMessage(
      missingBinaryMessage(command, (error as Error).message), "Install agentls");
    if (choice) void vscode.env.openExternal(vscode.Uri.parse(INSTALL_URL));
    return;
  }
  client.onNotification("$/progress", (params: { token: string | number; value: { kind: string } }) => {
    if (params.value?.kind === "end") {
      book.ended(String(params.token));
      status.text = book.statusText();
    }
  });

  const register = (name: string, handler: () => unknown) =>
    context.subscriptions.push(vscode.commands.registerCommand(name, handler));
  register("agentls.runWorkflowPick", async () => {
    const uri = vscode.window.activeTextEditor?.document.uri.toString();
    const workflows = await execute<{ name: string; description: string; default: boolean }[]>(
      "agentls.listWorkflows", { uri });
    if (!workflows) return;
    const pick = await vscode.window.showQuickPick(workflows.map((w) => ({
      label: w.name, description: w.default ? "default" : "", detail: w.description })));
    if (pick) await start(`workflow ${pick.label}`, "agentls.runWorkflow", { workflow: pick.label }, status);
  });
  register("agentls.reviewSelection", () => start("review", "agentls.runTask", { task: "review" }, status));
  register("agentls.implement", async () => {
    const instruction = await vscode.window.showInputBox({ prompt: "What should the agent implement?" });
    if (instruction !== undefined) {
      await start("implement", "agentls.runTask", { task: "implement", instruction }, status);
    }
  });
  register("agentls.refine", () => start("refine", "agentls.runTask", { task: "refine" }, status));
  register("agentls.explain", () => start("explain", "agentls.runTask", { task: "explain" }, status));
  register("agentls.followUpPick", async () => {
    if (!book.last) {
      void vscode.window.showWarningMessage("agentls: no run yet in this window.");
      return;
    }
    const message = await vscode.window.showInputBox({ prompt: "Follow-up for the last run" });
    if (!message) return;
    const answer = await execute<{ runId: string }>("agentls.followUp", { runId: book.last, message });
    if (answer?.runId) book.started(answer.runId, "follow-up");
    status.text = book.statusText();
  });
  register("agentls.cancelRun", async () => {
    const running = book.running();
    if (running.length === 0) {
      void vscode.window.showInformationMessage("agentls: no run is going.");
      return;
    }
    const pick = running.length === 1 ? { runId: running[0].runId } : await vscode.window.showQuickPick(
      running.map((r) => ({ label: r.title, description: r.runId, runId: r.runId })));
    if (pick) await execute("agentls.cancel", { runId: pick.runId });
  });
  register("agentls.showAgents", async () => {
    const agents = await execute<{ name: string; adapter: string; ready: boolean; enabled: boolean;
      version: string | null; problems: string[] }[]>("agentls.listAgents", {});
    if (!agents) return;
    const lines = ["# agentls agents", ""];
    for (const agent of agents) {
      const state = agent.ready ? "ready" : agent.enabled ? "not ready" : "disabled";
      lines.push(`- **${agent.name}** (${agent.adapter}): ${state} ${agent.version ?? ""}`);
      for (const problem of agent.problems) lines.push(`  - fix: ${problem}`);
    }
    await showMarkdown(lines.join("\n"));
  });
  register("agentls.clearReview", () => execute("agentls.clearDiagnostics", {}));
  register("agentls.showReport", async () => {
    if (!book.last) {
      void vscode.window.showWarningMessage("agentls: no run yet in this window.");
      return;
    }
    const report = await execute<{ markdown: string }>("agentls.showRun", { runId: book.last });
    if (report) await showMarkdown(report.markdown);
  });
}

export async function deactivate(): Promise<void> {
  await client?.stop();
}
