// agentls for VS Code: starts `agentls serve` with vscode-languageclient, adds palette commands,
// a status bar item for the runs, and shows the runs' progress as cancellable notifications.
import { execFile } from "node:child_process";
import * as fs from "node:fs";

import * as vscode from "vscode";
import {
  ExecuteCommandRequest,
  LanguageClient,
  LanguageClientOptions,
  ServerOptions,
  State,
} from "vscode-languageclient/node";

import { AgentMemory } from "./agents";
import { runTitle } from "./args";
import { Commands, Executor, withEditorTarget } from "./commands";
import { NotificationProgressFeature, ProgressListener } from "./progress";
import { ReportView, SCHEME } from "./reports";
import { Decision, PROPOSAL_SCHEME, Review } from "./review";
import { RunLog } from "./runlog";
import { Run, RunBook, runIdOfToken, ServerState } from "./runs";
import { RunsView } from "./runsView";
import {
  initializationOptions,
  INSTALL_ACTION,
  INSTALL_GUIDE,
  missingServerMessage,
  readServerSettings,
  resolveExecutable,
  ServerCommand,
  serverCommand,
  SETTINGS_ACTION,
} from "./settings";

const RUN_COMMANDS = new Set(["agentls.runWorkflow", "agentls.runTask", "agentls.followUp", "agentls.rerun"]);

/** A run ended with a proposal to review: "2 changes proposed in 1 file: review them". */
const PROPOSED = /\bchanges? proposed\b/;

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Whether `python` can import agentls: "ok", "missing" (no such Python) or "no-module". */
function probePython(python: string): Promise<"ok" | "missing" | "no-module"> {
  return new Promise((resolve) => {
    execFile(python, ["-c", "import agentls"], { timeout: 30_000 }, (error) => {
      if (!error) resolve("ok");
      else resolve((error as NodeJS.ErrnoException).code === "ENOENT" ? "missing" : "no-module");
    });
  });
}

class Server implements Executor {
  client: LanguageClient | undefined;
  state: ServerState = "starting";
  private problem: { message: string } | undefined;
  private readonly output = vscode.window.createOutputChannel("agentls");

  /** The review flow; its accept and reject run in place of the server's commands. */
  review: Review | undefined;

  constructor(
    private book: RunBook,
    private onState: () => void,
    private onRunEnd: (run: Run) => void,
    private installGuide: vscode.Uri,
    private progressListener: ProgressListener,
  ) {}

  private setState(state: ServerState): void {
    this.state = state;
    this.onState();
  }

  async start(): Promise<void> {
    this.setState("starting");
    this.problem = undefined;
    const config = vscode.workspace.getConfiguration("agentls");
    const wanted = serverCommand(config.get<string>("server.path"), config.get<string>("server.python"));
    const resolved = await this.resolve(wanted);
    if (!resolved) return;
    const serverOptions: ServerOptions = { command: resolved.command, args: resolved.args };
    const clientOptions: LanguageClientOptions = {
      documentSelector: [{ scheme: "file" }, { scheme: "untitled" }],
      initializationOptions: initializationOptions(readServerSettings((key) => config.get(key))),
      synchronize: { configurationSection: "agentls" },
      outputChannel: this.output,
      diagnosticCollectionName: "agentls",
      middleware: {
        // The server's commands (as code actions and keybindings run them) go through `execute`
        // too, so their runs are counted and a refused one is told once, without "Request
        // failed" noise; without a `uri` they run on the active editor's selection.
        // Accept and reject (the server's lenses and code actions) go through the review flow,
        // which asks a rejection's reason and refreshes the diffs.
        executeCommand: (command, args, next) => {
          if (!command.startsWith("agentls.")) return next(command, args);
          const argument = (args[0] ?? {}) as Record<string, unknown>;
          if (this.review && command === "agentls.acceptChange") return this.review.accept(argument as unknown as Decision);
          if (this.review && command === "agentls.rejectChange") return this.review.reject(argument as unknown as Decision);
          return this.execute(command, withEditorTarget(command, argument));
        },
      },
    };
    const client = new LanguageClient("agentls", "agentls", serverOptions, clientOptions);
    client.registerFeature(new NotificationProgressFeature(client, this.book, this.onRunEnd, this.progressListener));
    client.onDidChangeState((event) => {
      if (event.newState === State.Running) this.setState("running");
      if (event.newState === State.Stopped) {
        this.book.serverStopped();
        if (this.client === client) this.setState("stopped");
      }
    });
    this.client = client;
    try {
      await client.start();
    } catch (error) {
      this.setState("stopped");
      this.tell(missingServerMessage(resolved, errorMessage(error)));
    }
  }

  /** The command to run, or undefined after telling the user what is missing. */
  private async resolve(wanted: ServerCommand): Promise<ServerCommand | undefined> {
    const folder = vscode.workspace.workspaceFolders?.find((f) => f.uri.scheme === "file")?.uri.fsPath;
    const file = resolveExecutable(wanted.command, {
      PATH: process.env.PATH, HOME: process.env.HOME, workspaceFolder: folder, isExecutable,
    });
    let problem: string | undefined = file ? undefined : "missing";
    if (file && wanted.setting === "agentls.server.python") {
      const probe = await probePython(file);
      if (probe !== "ok") problem = probe;
    }
    if (problem) {
      this.setState("missing");
      this.tell(missingServerMessage(wanted, problem));
      return undefined;
    }
    return { ...wanted, command: file! };
  }

  /** The message about a server that cannot start, with the ways out. */
  tell(message: string): void {
    this.problem = { message };
    this.output.appendLine(message);
    void vscode.window.showErrorMessage(message, INSTALL_ACTION, SETTINGS_ACTION).then((choice) => {
      if (choice === INSTALL_ACTION) void vscode.commands.executeCommand("markdown.showPreview", this.installGuide);
      if (choice === SETTINGS_ACTION) {
        void vscode.commands.executeCommand("workbench.action.openSettings", "agentls.server");
      }
    });
  }

  async restart(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (client) {
      try {
        await client.dispose(5000);
      } catch (error) {
        this.output.appendLine(`stopping the old server: ${errorMessage(error)}`);
      }
    }
    await this.start();
  }

  showOutput(): void {
    this.output.show(true);
  }

  async execute<T>(command: string, argument: object, options: { quiet?: boolean } = {}): Promise<T | undefined> {
    const client = this.client;
    if (!client || !client.isRunning()) {
      if (options.quiet) return undefined;
      if (this.problem) this.tell(this.problem.message);
      else void vscode.window.showWarningMessage("agentls: the language server is not running yet.");
      return undefined;
    }
    let answer: T;
    try {
      answer = await client.sendRequest(ExecuteCommandRequest.type, { command, arguments: [argument] }) as T;
    } catch (error) {
      // The same text as the server's own message for refused runs, which VS Code then shows once.
      if (options.quiet) this.output.appendLine(`${command}: ${errorMessage(error)}`);
      else void vscode.window.showErrorMessage(`agentls: ${errorMessage(error)}`);
      return undefined;
    }
    const runId = (answer as { runId?: unknown } | null)?.runId;
    if (RUN_COMMANDS.has(command) && typeof runId === "string") {
      const args = argument as { workflow?: string; task?: string; agent?: string; uri?: string };
      this.book.started(runId, runTitle(command, args), { uri: args.uri, task: args.task });
    }
    return answer;
  }

  async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    await client?.stop();
  }
}

let server: Server | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const book = new RunBook();
  const view = new ReportView();
  const status = vscode.window.createStatusBarItem("agentls.runs", vscode.StatusBarAlignment.Left, 50);
  status.name = "agentls runs";
  const executor: Executor = { execute: (c, a, o) => server!.execute(c, a, o) };
  // What the extension asks by itself (the tree, the diffs) fails quietly, into the log.
  const quiet: Executor = { execute: (c, a) => server!.execute(c, a, { quiet: true }) };
  const runsView = new RunsView(quiet);
  let serverState: ServerState | undefined;
  const refresh = () => {
    const shown = book.status(server?.state ?? "starting");
    status.text = shown.text;
    status.tooltip = shown.tooltip;
    status.command = shown.command;
    if (server && server.state !== serverState) {
      serverState = server.state;
      runsView.refresh(); // a new server has other runs
    }
  };
  book.onChange(refresh);
  const review = new Review(executor, () => runsView.refresh());
  const runLog = new RunLog();
  const runOutput = vscode.window.createOutputChannel("agentls runs");
  const say = (lines: string[]) => lines.forEach((line) => runOutput.appendLine(line));
  const progressListener: ProgressListener = {
    begin: (token, title) => {
      const runId = runIdOfToken(token);
      if (runId) say(runLog.begin(runId, title, Date.now()));
      runsView.refresh();
    },
    report: (token, message) => say(runLog.report(runIdOfToken(token) ?? "", message, Date.now())),
    end: (token, message) => {
      say(runLog.end(runIdOfToken(token) ?? "", message, Date.now()));
      runsView.refresh();
    },
  };
  const commands = new Commands(executor, book, view, { show: () => runOutput.show(true) },
    { review, memory: new AgentMemory(context.workspaceState), changed: () => runsView.refresh() });
  const onRunEnd = (run: Run) => {
    if (run.status !== "done") return; // failures are shown by the server; cancels by the user
    if (run.task === "explain") {
      void commands.showReport(run.runId);
      return;
    }
    // The summary names the workflow: "default: ok, 1 iteration, 0 findings, 1 file changed; …"
    const message = `agentls: ${run.message}`;
    if (PROPOSED.test(run.message)) {
      void vscode.window.showInformationMessage(message, "Review", "Accept all", "Show report").then((choice) => {
        if (choice === "Review") void review.open(run.runId);
        if (choice === "Accept all") void review.accept({ runId: run.runId });
        if (choice === "Show report") void commands.showReport(run.runId);
      });
      return;
    }
    if (/\bnot applied\b/.test(run.message)) {
      void commands.offerApply(run.runId, message, "Show report").then((choice) => {
        if (choice === "Show report") void commands.showReport(run.runId);
      });
      return;
    }
    void vscode.window.showInformationMessage(message, "Show report").then((choice) => {
      if (choice) void commands.showReport(run.runId);
    });
  };
  server = new Server(book, refresh, onRunEnd, vscode.Uri.joinPath(context.extensionUri, INSTALL_GUIDE),
    progressListener);
  server.review = review;
  refresh();
  status.show();

  context.subscriptions.push(status, view, review, runsView, runOutput,
    vscode.workspace.registerTextDocumentContentProvider(SCHEME, view),
    vscode.workspace.registerTextDocumentContentProvider(PROPOSAL_SCHEME, review),
    vscode.languages.registerCodeLensProvider({ scheme: PROPOSAL_SCHEME }, review),
    vscode.window.createTreeView("agentls.runs", { treeDataProvider: runsView, showCollapseAll: true }));
  for (const [name, handler] of Object.entries(commands.handlers())) {
    context.subscriptions.push(vscode.commands.registerCommand(name, handler));
  }
  context.subscriptions.push(
    vscode.commands.registerCommand("agentls.restartServer", () => server!.restart()),
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (event.affectsConfiguration("agentls.server")) void server!.restart();
    }),
  );
  await server.start();
}

export async function deactivate(): Promise<void> {
  await server?.stop();
  server = undefined;
}
