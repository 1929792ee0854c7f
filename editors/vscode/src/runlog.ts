// The "agentls runs" output channel's lines: each run's steps, its agents' text and tool lines
// (as the server's progress reports carry them), the time since the run started, and the
// tokens and cost reported so far (the server says them in each report). Pure: no vscode import.

/** A progress message without what the server appends to it, the run's spend so far
 * ("… · 9 s, 1.2k tokens, $0.04", or against a budget: "… · 9 s of 10 min, $0.40 of $2.00"),
 * and that spend without its time (the log has its own): "1.2k tokens, $0.04", or "". */
export function spentIn(message: string): { text: string; spent: string } {
  const output = /^(iteration \d+ · step \d+\/\d+ \S+ \([^)]+\)) · (\d+ s\b[^:]*): ([\s\S]*)$/.exec(message);
  if (output) return { text: `${output[1]}: ${output[3]}`, spent: withoutTime(output[2]) };
  const other = /^([\s\S]*?) · (\d+ s\b[^·:]*)$/.exec(message);
  if (other) return { text: other[1], spent: withoutTime(other[2]) };
  return { text: message, spent: "" };
}

function withoutTime(spent: string): string {
  return spent.replace(/^\d+ s(?: of [^,]*)?(?:, )?/, "");
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
  /** What the agents spent so far, as the server last said it ("1.2k tokens, $0.04"). */
  spent: string;
}

const STEP = /^iteration \d+ · step \d+\/\d+ \S+ \(([^)]+)\)$/;

export class RunLog {
  private runs = new Map<string, Entry>();

  private tag(entry: Entry, now: number): string {
    return `[${elapsed(now - entry.started)} ${entry.title}]`;
  }

  begin(runId: string, title: string, now: number): string[] {
    const entry: Entry = { title: title.replace(/^agentls: /, ""), started: now, step: "", agent: "", spent: "" };
    this.runs.set(runId, entry);
    return [`${this.tag(entry, now)} started (run ${runId})`];
  }

  report(runId: string, raw: string | undefined, now: number): string[] {
    const entry = this.runs.get(runId);
    if (!entry || !raw || raw === "starting") return [];
    const { text: message, spent } = spentIn(raw);
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
    const more = spent && spent !== entry.spent ? `  (so far: ${spent})` : "";
    entry.spent = spent || entry.spent;
    return [`${this.tag(entry, now)} ${message}${more}`];
  }

  end(runId: string, message: string | undefined, now: number): string[] {
    const entry = this.runs.get(runId);
    if (!entry) return [];
    this.runs.delete(runId);
    const spent = entry.spent && !/\$\d/.test(message ?? "") ? ` (${entry.spent})` : "";
    return [`${this.tag(entry, now)} ended: ${message || "done"}${spent}`];
  }
}
