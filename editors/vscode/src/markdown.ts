// Markdown for what the extension shows besides the server's run reports. Pure.

export interface AgentStatus {
  name: string;
  adapter: string;
  enabled: boolean;
  binary: string | null;
  version: string | null;
  /** true: a credential variable is set; false: none is; null: the tool needs none. */
  credentials: boolean | null;
  ready: boolean;
  problems: string[];
  notes: string[];
  /** The tasks it does (ruff only reviews); absent from older servers: all of them. */
  tasks?: string[];
}

function cell(value: string | null | undefined): string {
  return (value ?? "").replace(/\|/g, "\\|").replace(/\n/g, " ") || "–";
}

function credentials(value: boolean | null): string {
  return value === null ? "not needed" : value ? "set" : "**not set**";
}

/** `agentls.listAgents`'s answer as a table, with what to fix under it. */
export function agentsMarkdown(agents: readonly AgentStatus[]): string {
  const lines = ["# agentls agents", ""];
  if (agents.length === 0) return lines.concat("No agents are configured.", "").join("\n");
  const enabled = agents.filter((agent) => agent.enabled);
  const ready = enabled.filter((agent) => agent.ready).length;
  lines.push(`${ready} of ${enabled.length} enabled agents ready.`, "");
  lines.push("| agent | adapter | state | binary | version | credentials |", "|---|---|---|---|---|---|");
  for (const agent of agents) {
    const state = agent.ready ? "ready" : agent.enabled ? "**not ready**" : "disabled";
    lines.push(`| **${cell(agent.name)}** | ${cell(agent.adapter)} | ${state} | ${cell(agent.binary)} ` +
      `| ${cell(agent.version)} | ${credentials(agent.credentials)} |`);
  }
  const advice = agents.filter((agent) => agent.enabled && (agent.problems.length || agent.notes.length));
  if (advice.length) {
    lines.push("", "## To fix", "");
    for (const agent of advice) {
      for (const problem of agent.problems) lines.push(`- **${agent.name}**: ${problem}`);
      for (const note of agent.notes) lines.push(`- ${agent.name}: ${note}`);
    }
  }
  return lines.join("\n") + "\n";
}
