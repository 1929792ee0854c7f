// The argument objects of the server's commands (docs/server.md), built from what the editor
// has: a document, a selection, diagnostics. Pure: no vscode import.

export interface Position {
  line: number;
  character: number;
}

export interface Range {
  start: Position;
  end: Position;
}

export interface Selection extends Range {
  isEmpty: boolean;
}

export interface EditorDiagnostic {
  source?: string;
  message: string;
  range: Range;
}

export type Task = "implement" | "review" | "refine" | "explain";

export interface TargetArgs {
  uri: string;
  range?: Range;
  instruction?: string;
  diagnostics?: string[];
}

export interface RunWorkflowArgs extends TargetArgs {
  workflow?: string;
}

export interface RunTaskArgs extends TargetArgs {
  task: Task;
  agent?: string;
}

/** The LSP range of a selection; none (the whole document) when nothing is selected. */
export function selectionRange(selection: Selection | undefined): Range | undefined {
  if (!selection || selection.isEmpty) return undefined;
  return {
    start: { line: selection.start.line, character: selection.start.character },
    end: { line: selection.end.line, character: selection.end.character },
  };
}

function overlaps(a: Range, b: Range): boolean {
  const before = (p: Position, q: Position) => p.line < q.line || (p.line === q.line && p.character < q.character);
  return !before(a.end, b.start) && !before(b.end, a.start);
}

/** Other tools' diagnostics in the range (all of them without one), as the server wants them:
 * lines of text, the same shape its code actions send. agentls's own are left out. */
export function diagnosticNotes(diagnostics: readonly EditorDiagnostic[], range: Range | undefined): string[] {
  return diagnostics
    .filter((d) => d.source !== "agentls" && (!range || overlaps(d.range, range)))
    .map((d) => `${d.source || "editor"}: line ${d.range.start.line + 1}: ${d.message}`);
}

function target(uri: string, selection: Selection | undefined, diagnostics: readonly EditorDiagnostic[],
  instruction: string | undefined): TargetArgs {
  const args: TargetArgs = { uri };
  const range = selectionRange(selection);
  if (range) args.range = range;
  const text = instruction?.trim();
  if (text) args.instruction = text;
  const notes = diagnosticNotes(diagnostics, range);
  if (notes.length) args.diagnostics = notes;
  return args;
}

/** `agentls.runWorkflow`'s argument; no workflow: the server's default. */
export function workflowArgs(uri: string, selection: Selection | undefined, options: {
  workflow?: string; instruction?: string; diagnostics?: readonly EditorDiagnostic[];
} = {}): RunWorkflowArgs {
  const args: RunWorkflowArgs = target(uri, selection, options.diagnostics ?? [], options.instruction);
  if (options.workflow) args.workflow = options.workflow;
  return args;
}

/** `agentls.runTask`'s argument; no agent: the server's `settings.task_agents[task]`. */
export function taskArgs(uri: string, selection: Selection | undefined, task: Task, options: {
  agent?: string; instruction?: string; diagnostics?: readonly EditorDiagnostic[];
} = {}): RunTaskArgs {
  const args: RunTaskArgs = { ...target(uri, selection, options.diagnostics ?? [], options.instruction), task };
  if (options.agent) args.agent = options.agent;
  return args;
}

/** A short title for a run started from the palette, until the server's progress names it. */
export function runTitle(command: string, args: { workflow?: string; task?: string; agent?: string }): string {
  if (command === "agentls.runTask") return `agentls: ${args.task ?? "task"}${args.agent ? ` with ${args.agent}` : ""}`;
  if (command === "agentls.followUp") return "agentls: follow-up";
  if (command === "agentls.rerun") return "agentls: run again";
  return `agentls: ${args.workflow ?? "default workflow"}`;
}
