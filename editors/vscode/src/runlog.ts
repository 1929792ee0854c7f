// The "agentls runs" output channel's lines: each run's steps, its agents' text and tool lines
// (as the server's progress reports carry them), the time since the run started, and the
// tokens and cost reported so far. Pure: no vscode import.

/** The tokens and cost a progress message names ("… · 1,234 tokens · $0.0123"), if any. */
export function usageIn(message: string): { tokens?: number; cost?: number } {
  const usage: { tokens?: number; cost?: number } = {};
  const tokens = /(\d[\d,]*)\s+tokens\b/.exec(message);
  if (tokens) usage.tokens = Number(tokens[1].replace(/,/g, ""));
  const cost = /\$(\d+(?:\.\d+)?)/.exec(message);
  if (cost) usage.cost = Number(cost[1]);
  return usage;
}

/** "0:07", "12:03", "1:02:03". */
export function elapsed(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const seconds = String(total % 60).padStart(2, "0");
  const minutes = Math.floor(total / 60) % 60;
  const hours = Math.floor(total / 3600);
  return hours ? `${hours}:${String(minutes).padStart(2, "0")}:${seconds}` : `${minutes}:${seconds}`;
}

interface Entry {
  title: string;
  started: number;
  /** The latest step line ("iteration 1 · step 1/3 implement (codex)"), which prefixes the
   * agent's output lines in the reports. */
  step: string;
  agent: string;
  tokens: number;
  cost: number;
}

const STEP = /^iteration \d+ · step \d+\/\d+ \S+ \(([^)]+)\)$/;

export class RunLog {
  private runs = new Map<string, Entry>();

  private tag(entry: Entry, now: number): string {
    return `[${elapsed(now - entry.started)} ${entry.title}]`;
  }

  private usage(entry: Entry, message: string): string {
    const { tokens, cost } = usageIn(message);
    if (tokens === undefined && cost === undefined) return "";
    entry.tokens += tokens ?? 0;
    entry.cost += cost ?? 0;
    const parts = [entry.tokens ? `${entry.tokens.toLocaleString("en-US")} tokens` : "",
      entry.cost ? `$${entry.cost.toFixed(4)}` : ""].filter(Boolean);
    return parts.length ? `  (so far: ${parts.join(", ")})` : "";
  }

  begin(runId: string, title: string, now: number): string[] {
    const entry: Entry = { title: title.replace(/^agentls: /, ""), started: now, step: "", agent: "", tokens: 0, cost: 0 };
    this.runs.set(runId, entry);
    return [`${this.tag(entry, now)} started (run ${runId})`];
  }

  report(runId: string, message: string | undefined, now: number): string[] {
    const entry = this.runs.get(runId);
    if (!entry || !message || message === "starting") return [];
    const step = STEP.exec(message);
    if (step) {
      entry.step = message;
      entry.agent = step[1];
      return [`${this.tag(entry, now)} ${message}`];
    }
    if (entry.step && message.startsWith(`${entry.step}: `)) {
      // The agent's own text or tool line, one per report; a text of several lines keeps its
      // lines under its first.
      const head = `${this.tag(entry, now)}   ${entry.agent}: `;
      const [first, ...rest] = message.slice(entry.step.length + 2).split("\n");
      return [head + first, ...rest.map((line) => " ".repeat(head.length) + line)];
    }
    return [`${this.tag(entry, now)} ${message}${this.usage(entry, message)}`];
  }

  end(runId: string, message: string | undefined, now: number): string[] {
    const entry = this.runs.get(runId);
    if (!entry) return [];
    this.runs.delete(runId);
    const totals = entry.tokens || entry.cost
      ? ` (${[entry.tokens ? `${entry.tokens.toLocaleString("en-US")} tokens` : "",
        entry.cost ? `$${entry.cost.toFixed(4)}` : ""].filter(Boolean).join(", ")})` : "";
    return [`${this.tag(entry, now)} ended: ${message || "done"}${/\$\d/.test(message ?? "") ? "" : totals}`];
  }
}
