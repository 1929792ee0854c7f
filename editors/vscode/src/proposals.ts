// The server's review answers (agentls.listRuns, agentls.showRun, agentls.showProposal) as the
// runs view's tree: run → steps → proposal files → hunks, and where each pending hunk sits in
// the proposed text (for the review diff's lenses). Pure: no vscode import.
import { Range } from "./args";

export type HunkState = "pending" | "accepted" | "rejected" | "stale" | "undone";

export interface Hunk {
  id: string;
  state: HunkState;
  /** In the current text; null when stale. */
  range: Range | null;
  oldText: string;
  newText: string;
  agent: string;
  step: string;
  reason: string;
  feedback?: string | null;
}

export interface ProposalFile {
  uri: string;
  path: string;
  /** The file's current text with every pending hunk applied. */
  proposedText: string;
  hunks: Hunk[];
}

/** `agentls.showProposal`'s answer. */
export interface Proposal {
  runId: string;
  title: string;
  files: ProposalFile[];
}

export interface ProposalCounts {
  pending: number;
  accepted: number;
  rejected: number;
  stale: number;
}

/** One of `agentls.listRuns`'s runs. `state` and `proposal` come with the review API. */
export interface ListedRun {
  runId: string;
  title: string;
  status: string;
  note: string;
  uri: string;
  /** A follow-up can continue it. */
  followable: boolean;
  /** Its proposed changes are not in the files yet. */
  applicable: boolean;
  state?: string;
  proposal?: ProposalCounts | null;
}

export interface RunStep {
  step: string;
  agent: string;
  task: string;
  status: string;
  iteration: number;
}

/** The parts of `agentls.showRun`'s answer the tree uses. */
export interface ShownRun {
  runId: string;
  status: string;
  steps?: RunStep[];
}

export type NodeKind = "run" | "step" | "file" | "hunk";

export interface TreeNode {
  kind: NodeKind;
  /** Unique in the tree, stable across refreshes (keeps what is expanded). */
  id: string;
  label: string;
  description: string;
  tooltip: string;
  /** A codicon id. */
  icon: string;
  /** Space-separated words the view's menus test (`viewItem =~ /\bpending\b/`). */
  contextValue: string;
  /** Expandable; a run's children are fetched, the others' are in `children`. */
  expandable: boolean;
  runId: string;
  children?: TreeNode[];
  /** A file's or a hunk's document. */
  uri?: string;
  path?: string;
  /** A hunk's id. */
  hunk?: string;
  range?: Range | null;
}

const RUN_ICONS: Record<string, string> = {
  running: "sync~spin",
  proposed: "git-pull-request",
  applied: "check",
  "partly applied": "check",
  rejected: "close",
  stale: "warning",
  failed: "error",
  cancelled: "circle-slash",
  done: "pass",
};

const STEP_ICONS: Record<string, string> = {
  ok: "pass", failed: "error", skipped: "circle-slash", running: "sync~spin",
};

const HUNK_ICONS: Record<HunkState, string> = {
  pending: "diff-modified", accepted: "check", rejected: "close", stale: "warning", undone: "discard",
};

/** A run's state: the server's, or one read from its status before the review API. */
export function runState(run: ListedRun): string {
  if (run.state) return run.state;
  if (run.status === "running" || run.status === "failed" || run.status === "cancelled") return run.status;
  return run.applicable ? "proposed" : "done";
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? "" : "s"}`;
}

/** "2 pending, 1 accepted": the non-zero counts. */
export function countsText(counts: ProposalCounts | null | undefined): string {
  if (!counts) return "";
  return (["pending", "accepted", "rejected", "stale"] as const)
    .filter((key) => counts[key] > 0).map((key) => `${counts[key]} ${key}`).join(", ");
}

export function runNode(run: ListedRun): TreeNode {
  const state = runState(run);
  const counts = countsText(run.proposal);
  const words = ["run", state.replace(/ /g, "-")];
  if (state === "running") words.push("running");
  else words.push("finished");
  if ((run.proposal?.pending ?? 0) > 0) words.push("pending");
  if (run.followable) words.push("followable");
  if (run.applicable) words.push("applicable");
  if (state === "applied" || state === "partly applied" || (run.proposal?.accepted ?? 0) > 0) words.push("undoable");
  return {
    kind: "run", id: `run:${run.runId}`, label: run.title.replace(/^agentls: /, ""),
    description: counts ? `${state} · ${counts}` : state,
    tooltip: [`${run.title} (run ${run.runId})`, `state: ${state}`, run.note].filter(Boolean).join("\n"),
    icon: RUN_ICONS[state] ?? "circle-outline", contextValue: words.join(" "), expandable: true,
    runId: run.runId, uri: run.uri,
  };
}

/** A hunk's lines, 1-based, as the user reads them: "line 5", "lines 5-6", or where it was. */
export function hunkLines(hunk: Hunk): string {
  if (!hunk.range) {
    if (hunk.state === "stale") return "lines edited since";
    // A decided hunk has no place in the text any more: its first line names it.
    const line = (hunk.newText || hunk.oldText).split("\n").map((l) => l.trim()).find(Boolean) ?? "";
    return line ? `“${line.length > 40 ? `${line.slice(0, 39)}…` : line}”` : "a change";
  }
  const first = hunk.range.start.line + 1;
  const end = hunk.range.end;
  const last = end.line > hunk.range.start.line && end.character === 0 ? end.line : end.line + 1;
  return last > first ? `lines ${first}-${last}` : `line ${first}`;
}

function fence(text: string): string {
  return "```\n" + text + (text.endsWith("\n") || !text ? "" : "\n") + "```";
}

export function hunkNode(runId: string, file: ProposalFile, hunk: Hunk): TreeNode {
  const description = [hunk.state, hunk.agent].filter(Boolean).join(" · ");
  const tooltip = [
    `${hunk.agent} proposes: ${hunk.reason}`.trim(),
    hunk.oldText ? `Replaces:\n${fence(hunk.oldText)}` : "Inserts:",
    hunk.newText ? `${hunk.oldText ? "With:\n" : ""}${fence(hunk.newText)}` : "(deletes the lines)",
    hunk.feedback ? `Your reason: ${hunk.feedback}` : "",
  ].filter(Boolean).join("\n");
  return {
    kind: "hunk", id: `hunk:${runId}:${file.path}:${hunk.id}`,
    label: `${hunkLines(hunk)}${hunk.reason ? `: ${hunk.reason}` : ""}`,
    description, tooltip, icon: HUNK_ICONS[hunk.state] ?? "circle-outline",
    contextValue: `hunk ${hunk.state}`, expandable: false, runId, uri: file.uri, path: file.path,
    hunk: hunk.id, range: hunk.range,
  };
}

export function fileNode(runId: string, file: ProposalFile, hunks: Hunk[], parent: string): TreeNode {
  const pending = hunks.filter((h) => h.state === "pending").length;
  const slash = file.path.lastIndexOf("/");
  const name = file.path.slice(slash + 1);
  const folder = slash > 0 ? file.path.slice(0, slash) : "";
  const counts: ProposalCounts = { pending, accepted: 0, rejected: 0, stale: 0 };
  for (const hunk of hunks) if (hunk.state in counts && hunk.state !== "pending") counts[hunk.state as keyof ProposalCounts]++;
  return {
    kind: "file", id: `${parent}/file:${file.path}`, label: name,
    description: [folder, countsText(counts)].filter(Boolean).join(" · "),
    tooltip: `${file.path}: ${plural(hunks.length, "change")}`, icon: "file",
    contextValue: pending ? "file pending" : "file", expandable: hunks.length > 0, runId,
    uri: file.uri, path: file.path, children: hunks.map((hunk) => hunkNode(runId, file, hunk)),
  };
}

function filesOf(runId: string, files: ProposalFile[], wanted: (hunk: Hunk) => boolean, parent: string): TreeNode[] {
  return files.map((file) => ({ file, hunks: file.hunks.filter(wanted) }))
    .filter(({ hunks }) => hunks.length > 0)
    .map(({ file, hunks }) => fileNode(runId, file, hunks, parent));
}

/** A run's children: its steps, each with the files and hunks it proposed; hunks of no listed
 * step under "changes"; without steps (an older server), the files. */
export function runChildren(runId: string, shown: ShownRun | undefined, proposal: Proposal | undefined): TreeNode[] {
  const files = proposal?.files ?? [];
  const steps = shown?.steps ?? [];
  if (steps.length === 0) return filesOf(runId, files, () => true, `run:${runId}`);
  // A step that ran in several iterations proposed its hunks in the last one.
  const last = new Map<string, number>();
  steps.forEach((step, index) => last.set(step.step, index));
  const nodes: TreeNode[] = steps.map((step, index) => {
    const id = `run:${runId}/step:${index}`;
    const children = last.get(step.step) === index ? filesOf(runId, files, (h) => h.step === step.step, id) : [];
    return {
      kind: "step", id,
      label: `${step.step} (${step.agent})`,
      description: [step.status, step.iteration > 1 ? `iteration ${step.iteration}` : ""].filter(Boolean).join(" · "),
      tooltip: `${step.task} by ${step.agent}, iteration ${step.iteration}: ${step.status}`,
      icon: STEP_ICONS[step.status] ?? "circle-outline", contextValue: "step",
      expandable: children.length > 0, runId, children,
    };
  });
  const known = new Set(steps.map((step) => step.step));
  const others = filesOf(runId, files, (h) => !known.has(h.step), `run:${runId}/other`);
  if (others.length) {
    nodes.push({ kind: "step", id: `run:${runId}/other`, label: "changes", description: "", tooltip: "",
      icon: "diff", contextValue: "step", expandable: true, runId, children: others });
  }
  return nodes;
}

/** Lines of a hunk's text ("a\nb\n" is 2; "a" is 1; "" is 0). */
export function lineCount(text: string): number {
  if (!text) return 0;
  return text.split("\n").length - (text.endsWith("\n") ? 1 : 0);
}

export interface PlacedHunk {
  hunk: Hunk;
  /** The hunk's first line in the proposed text (0-based). */
  line: number;
}

/** Where each pending hunk of `file` starts in its proposed text: its line in the current text,
 * moved by the lines the pending hunks above it add or remove. */
export function placeInProposal(file: ProposalFile): PlacedHunk[] {
  const pending = file.hunks.filter((h) => h.state === "pending" && h.range)
    .sort((a, b) => a.range!.start.line - b.range!.start.line);
  let shift = 0;
  return pending.map((hunk) => {
    const line = hunk.range!.start.line + shift;
    shift += lineCount(hunk.newText) - lineCount(hunk.oldText);
    return { hunk, line };
  });
}

export function pendingHunks(proposal: Proposal | undefined, uri?: string): Hunk[] {
  return (proposal?.files ?? []).filter((f) => !uri || f.uri === uri)
    .flatMap((f) => f.hunks.filter((h) => h.state === "pending"));
}
