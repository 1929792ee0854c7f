// The extension's own logic, free of the vscode module so it tests with node alone.

export interface Position { line: number; character: number }
export interface Selection { start: Position; end: Position; isEmpty: boolean }

export interface RunTarget {
  uri: string;
  range?: { start: Position; end: Position };
  instruction?: string;
  workflow?: string;
  task?: string;
  agent?: string;
}

/** The argument object of agentls.runWorkflow / agentls.runTask for an editor selection. */
export function runTarget(uri: string, selection: Selection | undefined, extra: Partial<RunTarget> = {}): RunTarget {
  const target: RunTarget = { uri, ...extra };
  if (selection && !selection.isEmpty) {
    target.range = { start: selection.start, end: selection.end };
  }
  for (const key of Object.keys(target) as (keyof RunTarget)[]) {
    if (target[key] === undefined || target[key] === "") delete target[key];
  }
  return target;
}

export interface EditorSettings {
  defaultWorkflow?: string;
  applyMode?: string;
  agents?: Record<string, unknown>;
  maxContextBytes?: number | null;
  maxOpenDocumentsBytes?: number;
}

/** initializationOptions: the agentls settings the server understands, empty ones left out. */
export function initializationOptions(settings: EditorSettings): EditorSettings {
  const options: EditorSettings = {};
  if (settings.defaultWorkflow) options.defaultWorkflow = settings.defaultWorkflow;
  if (settings.applyMode) options.applyMode = settings.applyMode;
  if (settings.agents && Object.keys(settings.agents).length) options.agents = settings.agents;
  if (typeof settings.maxContextBytes === "number") options.maxContextBytes = settings.maxContextBytes;
  if (typeof settings.maxOpenDocumentsBytes === "number") {
    options.maxOpenDocumentsBytes = settings.maxOpenDocumentsBytes;
  }
  return options;
}

/** How to start the server: `python -m agentls serve` when a Python is set, else the binary. */
export function serverCommand(path: string, python: string): { command: string; args: string[] } {
  if (python.trim()) return { command: python.trim(), args: ["-m", "agentls", "serve"] };
  return { command: path.trim() || "agentls", args: ["serve"] };
}

export const INSTALL_URL = "https://github.com/agentls/agentls#two-commands";

export function missingBinaryMessage(command: string, error: string): string {
  return `agentls could not start \`${command}\` (${error}). Install agentls (make demo creates ` +
    ".venv/bin/agentls) and set agentls.server.path, or agentls.server.python to a Python " +
    "that has it.";
}

/** Runs started from this window, for the status bar and Cancel run. */
export class RunBook {
  private runs = new Map<string, { title: string; done: boolean }>();
  last: string | undefined;

  started(runId: string, title: string): void {
    this.runs.set(runId, { title, done: false });
    this.last = runId;
  }

  /** A progress token ended; tokens look like agentls-<runId>-<suffix>. */
  ended(token: string): void {
    const match = /^agentls-([0-9a-f]+)-/.exec(token);
    const run = match ? this.runs.get(match[1]) : undefined;
    if (run) run.done = true;
  }

  running(): { runId: string; title: string }[] {
    return [...this.runs.entries()].filter(([, r]) => !r.done).map(([runId, r]) => ({ runId, title: r.title }));
  }

  statusText(): string {
    const count = this.running().length;
    return count === 0 ? "$(hubot) agentls" : `$(sync~spin) agentls: ${count} running`;
  }
}
