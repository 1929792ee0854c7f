// Bookkeeping of the runs this window knows about, for the status bar, Cancel run, Follow up…
// and Show run report. Fed by the answers of the run commands and by the server's work-done
// progress, whose tokens are `agentls-<runId>-<suffix>`. Pure: no vscode import.

export type RunStatus = "running" | "done" | "failed" | "cancelled" | "lost";

export interface Run {
  runId: string;
  title: string;
  status: RunStatus;
  /** The latest progress message, or the end summary. */
  message: string;
  uri?: string;
  task?: string;
}

export type ServerState = "starting" | "running" | "stopped" | "missing";

export interface StatusView {
  text: string;
  tooltip: string;
  command: string;
}

const TOKEN = /^agentls-([0-9a-zA-Z]+)-[0-9a-zA-Z]+$/;

/** The run id inside one of the server's progress tokens. */
export function runIdOfToken(token: string | number): string | undefined {
  return TOKEN.exec(String(token))?.[1];
}

/** How a run ended, from the message of its progress end: "failed: why", "cancelled", or the
 * run's summary "<workflow>: <ok|partial|failed|cancelled>, 1 iteration, …". */
export function endStatus(message: string): RunStatus {
  if (/^failed\b/.test(message)) return "failed";
  if (/^cancelled\b/.test(message)) return "cancelled";
  const status = /: (ok|partial|failed|cancelled), \d+ iterations?\b/.exec(message)?.[1];
  if (status === "failed") return "failed";
  if (status === "cancelled") return "cancelled";
  return "done";
}

export class RunBook {
  private runs = new Map<string, Run>();
  /** Run ids, most recently started last. */
  private order: string[] = [];
  private listeners: (() => void)[] = [];

  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  private changed(): void {
    for (const listener of this.listeners) listener();
  }

  private touch(runId: string): void {
    this.order = this.order.filter((id) => id !== runId);
    this.order.push(runId);
  }

  /** A run command answered `{runId}` (a follow-up answers the id of the run it continues). */
  started(runId: string, title: string, details: { uri?: string; task?: string } = {}): Run {
    const known = this.runs.get(runId);
    const run: Run = {
      runId,
      title: known && known.status === "running" ? known.title : title,
      status: "running",
      message: known && known.status === "running" ? known.message : "starting",
      uri: details.uri ?? known?.uri,
      task: details.task ?? known?.task,
    };
    this.runs.set(runId, run);
    this.touch(runId);
    this.changed();
    return run;
  }

  /** `$/progress` begin: the server's title wins over the one the extension guessed. */
  progressBegin(token: string | number, title: string): Run | undefined {
    const runId = runIdOfToken(token);
    if (!runId) return undefined;
    const known = this.runs.get(runId);
    const run: Run = { ...(known ?? { runId }), title, status: "running", message: "starting" };
    this.runs.set(runId, run);
    if (!known) this.touch(runId);
    this.changed();
    return run;
  }

  progressReport(token: string | number, message: string | undefined): void {
    const run = this.runs.get(runIdOfToken(token) ?? "");
    if (run && message) {
      run.message = message;
      this.changed();
    }
  }

  progressEnd(token: string | number, message: string | undefined): Run | undefined {
    const run = this.runs.get(runIdOfToken(token) ?? "");
    if (!run) return undefined;
    run.message = message ?? "";
    run.status = endStatus(run.message);
    this.changed();
    return run;
  }

  /** The run is over whatever the progress said (e.g. cancel answered `{cancelled: false}`). */
  finished(runId: string, message: string): void {
    const run = this.runs.get(runId);
    if (run && run.status === "running") {
      run.status = "done";
      run.message = message;
      this.changed();
    }
  }

  /** The server stopped: its runs are gone with it. */
  serverStopped(): void {
    let any = false;
    for (const run of this.runs.values()) {
      if (run.status === "running") {
        run.status = "lost";
        run.message = "the language server stopped";
        any = true;
      }
    }
    if (any) this.changed();
  }

  get(runId: string): Run | undefined {
    return this.runs.get(runId);
  }

  /** The most recently started run. */
  last(): Run | undefined {
    const id = this.order[this.order.length - 1];
    return id === undefined ? undefined : this.runs.get(id);
  }

  /** Every run, most recent first. */
  recent(): Run[] {
    return [...this.order].reverse().map((id) => this.runs.get(id)!);
  }

  running(): Run[] {
    return this.recent().filter((run) => run.status === "running");
  }

  /** What the status bar item shows. */
  status(server: ServerState): StatusView {
    if (server === "missing") {
      return { text: "$(warning) agentls", tooltip: "agentls is not installed: click for how to fix it",
        command: "agentls.restartServer" };
    }
    if (server === "stopped") {
      return { text: "$(error) agentls", tooltip: "The agentls server stopped: click to restart it",
        command: "agentls.restartServer" };
    }
    const running = this.running();
    if (running.length === 0) {
      return { text: "$(hubot) agentls", tooltip: server === "starting" ? "agentls is starting" :
        "agentls: no run going (click for the commands)", command: "agentls.showMenu" };
    }
    const lines = running.map((run) => `${run.title}: ${run.message}`);
    return {
      text: `$(sync~spin) agentls: ${running.length}`,
      tooltip: `${running.length} agentls run${running.length === 1 ? "" : "s"} going (click for progress, output, cancel, report)\n${lines.join("\n")}`,
      command: "agentls.runMenu",
    };
  }
}
