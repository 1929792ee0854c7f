// Read-only markdown documents (run reports, the agents table) shown in the markdown preview.
import * as vscode from "vscode";

export const SCHEME = "agentls";

export class ReportView implements vscode.TextDocumentContentProvider {
  private contents = new Map<string, string>();
  private emitter = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.emitter.event;

  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.contents.get(uri.path) ?? "";
  }

  /** Shows `markdown` as `agentls:/<name>.md`, rendered when the markdown preview is there. */
  async show(name: string, markdown: string): Promise<vscode.Uri> {
    const uri = vscode.Uri.from({ scheme: SCHEME, path: `/${name}.md` });
    this.contents.set(uri.path, markdown);
    this.emitter.fire(uri);
    try {
      await vscode.commands.executeCommand("markdown.showPreview", uri);
    } catch {
      const document = await vscode.workspace.openTextDocument(uri);
      await vscode.languages.setTextDocumentLanguage(document, "markdown");
      await vscode.window.showTextDocument(document, { preview: true });
    }
    return uri;
  }

  dispose(): void {
    this.emitter.dispose();
  }
}
