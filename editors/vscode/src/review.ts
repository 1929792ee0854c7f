// Review mode: a run's proposal as one diff per file (the real file against a read-only
// `agentls-proposal:` document of its proposed text), with Accept / Reject lenses over each
// pending hunk on the proposed side (the server puts its own on the real file), a reason asked
// for each rejection, and the proposed side refreshed after every decision.
import * as vscode from "vscode";

import { Executor } from "./commands";
import { pendingHunks, placeInProposal, Proposal, ProposalFile } from "./proposals";

export const PROPOSAL_SCHEME = "agentls-proposal";

/** `agentls.acceptChange` / `agentls.rejectChange`'s argument. */
export interface Decision {
  runId: string;
  hunks?: string[];
  uri?: string;
  reason?: string;
}

interface AcceptAnswer {
  accepted: string[];
  stale: string[];
  note?: string;
}

/** The proposed side's URI: the file's path (its name shows in the tab), the run in the query. */
export function proposalUri(runId: string, path: string): vscode.Uri {
  return vscode.Uri.from({ scheme: PROPOSAL_SCHEME, path: `/${path}`, query: runId });
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? "" : "s"}`;
}

export class Review implements vscode.TextDocumentContentProvider, vscode.CodeLensProvider {
  private proposals = new Map<string, Proposal>();
  private contentEmitter = new vscode.EventEmitter<vscode.Uri>();
  private lensEmitter = new vscode.EventEmitter<void>();
  readonly onDidChange = this.contentEmitter.event;
  readonly onDidChangeCodeLenses = this.lensEmitter.event;

  constructor(private server: Executor, private onDecided: (runId: string) => void = () => undefined) {}

  private file(uri: vscode.Uri): ProposalFile | undefined {
    return this.proposals.get(uri.query)?.files.find((f) => `/${f.path}` === uri.path);
  }

  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.file(uri)?.proposedText ?? "";
  }

  provideCodeLenses(document: vscode.TextDocument): vscode.CodeLens[] {
    const file = this.file(document.uri);
    if (!file) return [];
    const runId = document.uri.query;
    return placeInProposal(file).flatMap(({ hunk, line }) => {
      const at = new vscode.Range(line, 0, line, 0);
      const argument: Decision = { runId, hunks: [hunk.id], uri: file.uri };
      return [
        new vscode.CodeLens(at, { title: `Accept (${hunk.agent})`, command: "agentls.runs.accept", arguments: [argument],
          tooltip: hunk.reason }),
        new vscode.CodeLens(at, { title: "Reject", command: "agentls.runs.reject", arguments: [argument] }),
      ];
    });
  }

  /** The decision on every change of the file a proposal document shows (the review diff's
   * title buttons); undefined for another document. */
  fileDecision(uri: vscode.Uri | undefined): Decision | undefined {
    const file = uri?.scheme === PROPOSAL_SCHEME ? this.file(uri) : undefined;
    return file && uri ? { runId: uri.query, uri: file.uri } : undefined;
  }

  proposal(runId: string): Proposal | undefined {
    return this.proposals.get(runId);
  }

  /** Asks the server for the run's proposal again and updates what shows it. */
  async load(runId: string): Promise<Proposal | undefined> {
    const proposal = await this.server.execute<Proposal>("agentls.showProposal", { runId });
    if (!proposal) return undefined;
    this.proposals.set(runId, proposal);
    for (const file of proposal.files) this.contentEmitter.fire(proposalUri(runId, file.path));
    this.lensEmitter.fire();
    return proposal;
  }

  /** Opens a diff per file with pending hunks (only `path`'s when given); at `line` of the
   * real file when given. */
  async open(runId: string, options: { path?: string; line?: number } = {}): Promise<number> {
    const proposal = await this.load(runId);
    if (!proposal) return 0;
    const files = proposal.files.filter((f) => (options.path ? f.path === options.path
      : f.hunks.some((h) => h.state === "pending")));
    if (files.length === 0) {
      void vscode.window.showInformationMessage(`agentls: ${proposal.title || "the run"} has no change left to review.`);
      return 0;
    }
    // The first file is opened last, so that it is the one in front.
    for (const file of [...files].reverse()) {
      const pending = file.hunks.filter((h) => h.state === "pending").length;
      const agents = [...new Set(file.hunks.map((h) => h.agent).filter(Boolean))].join(", ");
      const title = `${file.path}: ${plural(pending, "change")} proposed${agents ? ` by ${agents}` : ""}`;
      const selection = options.line === undefined ? undefined : new vscode.Range(options.line, 0, options.line, 0);
      await vscode.commands.executeCommand("vscode.diff", vscode.Uri.parse(file.uri), proposalUri(runId, file.path),
        title, { preview: false, selection });
    }
    return files.length;
  }

  /** Accepts hunks (`agentls.acceptChange`): the server applies them to the real file. */
  async accept(decision: Decision): Promise<AcceptAnswer | undefined> {
    const answer = await this.server.execute<AcceptAnswer>("agentls.acceptChange", decision);
    if (answer) {
      if (answer.stale?.length) {
        void vscode.window.showWarningMessage(`agentls: ${plural(answer.stale.length, "change")} not applied: ` +
          "you edited their lines since the run proposed them.");
      }
      vscode.window.setStatusBarMessage(`agentls: ${answer.note || `${plural(answer.accepted.length, "change")} accepted`}`, 5000);
    }
    await this.decided(decision.runId);
    return answer;
  }

  /** Rejects hunks (`agentls.rejectChange`), with the user's reason for the agent's next try;
   * undefined when the user dismissed the question. */
  async reject(decision: Decision): Promise<{ rejected: string[] } | undefined> {
    let reason = decision.reason;
    if (reason === undefined) {
      const count = decision.hunks?.length ?? pendingHunks(this.proposals.get(decision.runId), decision.uri).length;
      reason = await vscode.window.showInputBox({
        title: `agentls: reject ${count ? plural(count, "change") : "the changes"}`,
        prompt: "Why? A follow-up tells the agent (Enter without text: no reason; Escape: keep the change)",
        placeHolder: "e.g. keep the public name, callers use it",
        ignoreFocusOut: true,
      });
      if (reason === undefined) return undefined;
    }
    const answer = await this.server.execute<{ rejected: string[] }>("agentls.rejectChange",
      { ...decision, reason: reason.trim() });
    if (answer) vscode.window.setStatusBarMessage(`agentls: ${plural(answer.rejected.length, "change")} rejected`, 5000);
    await this.decided(decision.runId);
    return answer;
  }

  /** After a decision: the proposed side again, and the diffs of files left with nothing
   * pending closed. */
  async decided(runId: string): Promise<void> {
    const proposal = await this.load(runId);
    this.onDecided(runId);
    if (!proposal) return;
    const done = new Set(proposal.files.filter((f) => !f.hunks.some((h) => h.state === "pending"))
      .map((f) => proposalUri(runId, f.path).toString()));
    const groups = vscode.window.tabGroups?.all ?? [];
    const closing = groups.flatMap((group) => group.tabs).filter((tab) =>
      tab.input instanceof vscode.TabInputTextDiff && done.has(tab.input.modified.toString()));
    if (closing.length) await vscode.window.tabGroups.close(closing);
  }

  dispose(): void {
    this.contentEmitter.dispose();
    this.lensEmitter.dispose();
  }
}
