// The server's work-done progress as a VS Code notification with a Cancel button.
//
// vscode-languageclient (9.x to 11.x) shows server-created work-done progress with
// `ProgressLocation.Window`: a spinner in the status bar, without the title's details and
// without a cancel button, whatever `cancellable` says. agentls runs take minutes and their
// progress is cancellable, so this feature takes over `window/workDoneProgress/create`
// (registered after the built-in features, it replaces their handler) and shows each run as a
// notification whose Cancel sends `window/workDoneProgress/cancel`. It also feeds the RunBook.
import * as vscode from "vscode";
import {
  ClientCapabilities,
  ProgressToken,
  ProgressType,
  WorkDoneProgress,
  WorkDoneProgressBegin,
  WorkDoneProgressCancelNotification,
  WorkDoneProgressCreateParams,
  WorkDoneProgressCreateRequest,
  WorkDoneProgressEnd,
  WorkDoneProgressReport,
} from "vscode-languageserver-protocol";

import { Run, RunBook } from "./runs";

/** The parts of the LanguageClient this feature uses. */
export interface ProgressClient {
  onRequest(type: typeof WorkDoneProgressCreateRequest.type,
    handler: (params: WorkDoneProgressCreateParams) => void): vscode.Disposable;
  onProgress<P>(type: ProgressType<P>, token: ProgressToken, handler: (params: P) => void): vscode.Disposable;
  sendNotification(type: typeof WorkDoneProgressCancelNotification.type, params: { token: ProgressToken }): Promise<void>;
}

type Value = WorkDoneProgressBegin | WorkDoneProgressReport | WorkDoneProgressEnd;

/** Told each run's progress as it comes (the runs' output channel, the runs view). */
export interface ProgressListener {
  begin(token: ProgressToken, title: string): void;
  report(token: ProgressToken, message: string | undefined): void;
  end(token: ProgressToken, message: string | undefined): void;
}

const NOBODY: ProgressListener = { begin: () => undefined, report: () => undefined, end: () => undefined };

class ProgressPart {
  private subscription: vscode.Disposable | undefined;
  private progress: vscode.Progress<{ message?: string; increment?: number }> | undefined;
  private resolve: (() => void) | undefined;
  private reported = 0;
  private over = false;

  constructor(private client: ProgressClient, private token: ProgressToken, private book: RunBook,
    private onEnd: (part: ProgressPart, run: Run | undefined) => void, private listener: ProgressListener) {
    this.subscription = client.onProgress(WorkDoneProgress.type, token, (value: Value) => {
      if (value.kind === "begin") this.begin(value);
      else if (value.kind === "report") this.report(value);
      else if (value.kind === "end") this.end(value);
    });
  }

  private begin(value: WorkDoneProgressBegin): void {
    this.book.progressBegin(this.token, value.title);
    this.listener.begin(this.token, value.title);
    void vscode.window.withProgress({
      location: vscode.ProgressLocation.Notification,
      title: value.title,
      cancellable: value.cancellable ?? false,
    }, (progress, cancellation) => {
      if (this.over) return Promise.resolve();
      this.progress = progress;
      cancellation.onCancellationRequested(() => {
        void this.client.sendNotification(WorkDoneProgressCancelNotification.type, { token: this.token });
      });
      this.report({ kind: "report", message: value.message, percentage: value.percentage });
      return new Promise<void>((resolve) => { this.resolve = resolve; });
    });
  }

  private report(value: WorkDoneProgressReport): void {
    if (value.kind === "report") {
      this.book.progressReport(this.token, value.message);
      this.listener.report(this.token, value.message);
    }
    let increment: number | undefined;
    if (typeof value.percentage === "number") {
      const percentage = Math.max(0, Math.min(100, value.percentage));
      increment = Math.max(0, percentage - this.reported);
      this.reported += increment;
    }
    this.progress?.report({ message: value.message, increment });
  }

  private end(value: WorkDoneProgressEnd): void {
    const run = this.book.progressEnd(this.token, value.message);
    this.listener.end(this.token, value.message);
    this.done();
    this.onEnd(this, run);
  }

  done(): void {
    this.over = true;
    this.subscription?.dispose();
    this.subscription = undefined;
    this.resolve?.();
    this.resolve = undefined;
  }
}

/** A vscode-languageclient StaticFeature; register it with `client.registerFeature`. */
export class NotificationProgressFeature {
  private parts = new Set<ProgressPart>();

  constructor(private client: ProgressClient, private book: RunBook,
    private onEnd: (run: Run) => void = () => undefined, private listener: ProgressListener = NOBODY) {}

  fillClientCapabilities(capabilities: ClientCapabilities): void {
    capabilities.window = capabilities.window ?? {};
    capabilities.window.workDoneProgress = true;
  }

  initialize(): void {
    this.client.onRequest(WorkDoneProgressCreateRequest.type, (params) => {
      this.parts.add(new ProgressPart(this.client, params.token, this.book, (part, run) => {
        this.parts.delete(part);
        if (run) this.onEnd(run);
      }, this.listener));
    });
  }

  getState(): { kind: "static" } {
    return { kind: "static" };
  }

  /** The client stopped: close every notification. */
  clear(): void {
    for (const part of this.parts) part.done();
    this.parts.clear();
  }

  get active(): number {
    return this.parts.size;
  }
}
