// Which agent runs each quick task (explain, review, implement, refine): picked from the ready
// agents once, then remembered for the workspace. Pure: no vscode import.
import { Task } from "./args";
import { AgentStatus } from "./markdown";

/** Like VS Code's `Memento` (the extension's workspaceState). */
export interface Store {
  get<T>(key: string): T | undefined;
  update(key: string, value: unknown): PromiseLike<void>;
}

/** The agent picked for a task; `SERVER_DEFAULT` means the server's `task_agents` choice. */
export const SERVER_DEFAULT = "";

export class AgentMemory {
  constructor(private store: Store) {}

  private key(task: Task): string {
    return `agentls.agent.${task}`;
  }

  get(task: Task): string | undefined {
    return this.store.get<string>(this.key(task));
  }

  async remember(task: Task, agent: string): Promise<void> {
    await this.store.update(this.key(task), agent);
  }

  async forget(task: Task): Promise<void> {
    await this.store.update(this.key(task), undefined);
  }
}

/** The agents a quick task can run with: enabled, ready, and doing that task. */
export function readyAgents(agents: readonly AgentStatus[], task?: Task): AgentStatus[] {
  return agents.filter((agent) => agent.enabled && agent.ready && (!task || !agent.tasks || agent.tasks.includes(task)));
}

/** The remembered agent when it is still ready (or the server's default was remembered), else
 * undefined: the user picks again. */
export function rememberedAgent(remembered: string | undefined, ready: readonly AgentStatus[]): string | undefined {
  if (remembered === undefined) return undefined;
  if (remembered === SERVER_DEFAULT) return SERVER_DEFAULT;
  return ready.some((agent) => agent.name === remembered) ? remembered : undefined;
}

export interface AgentItem {
  label: string;
  description: string;
  agent: string;
}

/** The picker's items: each ready agent (the remembered one first), then the server's default. */
export function agentItems(ready: readonly AgentStatus[], remembered: string | undefined): AgentItem[] {
  const items = ready.map((agent) => ({
    label: agent.name,
    description: [agent.adapter !== agent.name ? agent.adapter : "", agent.version ?? "",
      agent.name === remembered ? "(last used)" : ""].filter(Boolean).join(" · "),
    agent: agent.name,
  }));
  items.sort((a, b) => Number(b.agent === remembered) - Number(a.agent === remembered));
  items.push({ label: "the configured agent", description: "settings.task_agents of the configuration",
    agent: SERVER_DEFAULT });
  return items;
}
