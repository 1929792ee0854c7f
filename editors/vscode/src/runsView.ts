// The runs view (activity bar → agentls → Runs): this session's runs from the server, each
// with its steps, the files they proposed changes to and the hunks, in their states.
import * as vscode from "vscode";

import { Executor } from "./commands";
import { ListedRun, Proposal, runChildren, runNode, ShownRun, TreeNode } from "./proposals";

export class RunsView implements vscode.TreeDataProvider<TreeNode> {
  private emitter = new vscode.EventEmitter<TreeNode | undefined>();
  readonly onDidChangeTreeData = this.emitter.event;

  constructor(private server: Executor) {}

  refresh(): void {
    this.emitter.fire(undefined);
  }

  getTreeItem(node: TreeNode): vscode.TreeItem {
    const state = node.kind === "run" || node.expandable
      ? (node.kind === "run" ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.Expanded)
      : vscode.TreeItemCollapsibleState.None;
    const item = new vscode.TreeItem(node.label, state);
    item.id = node.id;
    item.description = node.description;
    item.tooltip = node.kind === "hunk" ? new vscode.MarkdownString(node.tooltip) : node.tooltip;
    item.contextValue = node.contextValue;
    item.iconPath = new vscode.ThemeIcon(node.icon);
    if (node.kind === "file" && node.uri) item.resourceUri = vscode.Uri.parse(node.uri);
    if (node.kind === "file" || node.kind === "hunk") {
      item.command = { title: "Review", command: "agentls.runs.review", arguments: [node] };
    }
    return item;
  }

  async getChildren(node?: TreeNode): Promise<TreeNode[]> {
    if (!node) {
      const runs = await this.server.execute<ListedRun[]>("agentls.listRuns", {});
      return (runs ?? []).map(runNode);
    }
    if (node.kind !== "run") return node.children ?? [];
    const [shown, proposal] = await Promise.all([
      this.server.execute<ShownRun>("agentls.showRun", { runId: node.runId }),
      this.server.execute<Proposal>("agentls.showProposal", { runId: node.runId }),
    ]);
    return runChildren(node.runId, shown, proposal);
  }

  dispose(): void {
    this.emitter.dispose();
  }
}
