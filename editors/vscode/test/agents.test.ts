import { strict as assert } from "node:assert";
import { beforeEach, test } from "node:test";

import { agentItems, AgentMemory, rememberedAgent, SERVER_DEFAULT } from "../src/agents";
import { Commands } from "../src/commands";
import { AgentStatus } from "../src/markdown";
import { RunBook } from "../src/runs";
import { editorOn, fake, memento } from "./fake-vscode";

function agent(name: string, ready = true, enabled = true): AgentStatus {
  return { name, adapter: name, enabled, binary: `/bin/${name}`, version: "1.0", credentials: true, ready,
    problems: [], notes: [] };
}

function setUp(agents: AgentStatus[]) {
  const sent: { command: string; argument: Record<string, unknown> }[] = [];
  const state = memento();
  const server = {
    agents,
    async execute<T>(command: string, argument: object): Promise<T | undefined> {
      sent.push({ command, argument: argument as Record<string, unknown> });
      if (command === "agentls.listAgents") return this.agents as T;
      if (command === "agentls.runTask") return { runId: "run1" } as T;
      return undefined;
    },
  };
  const commands = new Commands(server, new RunBook(), { show: async () => undefined }, undefined,
    { memory: new AgentMemory(state) });
  const runs = () => sent.filter((s) => s.command === "agentls.runTask").map((s) => s.argument.agent);
  return { sent, state, server, commands, runs };
}

beforeEach(() => fake.reset());

test("a quick task asks which ready agent runs it once, then remembers it per task", async () => {
  const { commands, runs, state } = setUp([agent("claude"), agent("codex", false), agent("gemini"), agent("copilot", true, false)]);
  editorOn("/ws/calc.py");
  fake.quickPickAnswers.push("gemini");
  await commands.task("review");
  const [pick] = fake.quickPicks;
  assert.deepEqual(pick.items.map((i: { label: string }) => i.label), ["claude", "gemini", "the configured agent"],
    "only the enabled, ready agents");
  assert.match(pick.options.title, /which agent should review/);
  await commands.task("review"); // remembered: no pick
  assert.equal(fake.quickPicks.length, 1);
  fake.quickPickAnswers.push("claude");
  await commands.task("explain"); // another task asks again
  assert.deepEqual(runs(), ["gemini", "gemini", "claude"]);
  assert.equal(state.values.get("agentls.agent.review"), "gemini");
});

test("only the agents that do the task are offered (ruff reviews, it does not explain)", async () => {
  const ruff = { ...agent("ruff"), tasks: ["review"] };
  const { commands } = setUp([{ ...agent("claude"), tasks: ["explain", "implement", "refine", "review"] }, ruff]);
  editorOn("/ws/calc.py");
  fake.quickPickAnswers.push("claude", "ruff");
  await commands.task("explain");
  await commands.task("review");
  assert.deepEqual(fake.quickPicks.map((p) => p.items.map((i: { label: string }) => i.label)),
    [["claude", "the configured agent"], ["claude", "ruff", "the configured agent"]]);
});

test("a remembered agent that is no longer ready is picked again; dismissing the pick runs nothing", async () => {
  const { commands, runs, server } = setUp([agent("claude"), agent("gemini")]);
  editorOn("/ws/calc.py");
  fake.quickPickAnswers.push("gemini");
  await commands.task("refine");
  server.agents = [agent("claude"), agent("gemini", false)];
  fake.quickPickAnswers.push(undefined);
  assert.equal(await commands.task("refine"), undefined);
  assert.equal(fake.quickPicks.length, 2);
  assert.deepEqual(runs(), ["gemini"]);
});

test("the configured agent can be picked (no agent sent), and Choose the agent… picks again", async () => {
  const { commands, runs } = setUp([agent("claude"), agent("gemini")]);
  editorOn("/ws/calc.py");
  fake.quickPickAnswers.push("the configured agent");
  await commands.task("review");
  await commands.task("review");
  assert.deepEqual(runs(), [undefined, undefined]);
  assert.equal(fake.quickPicks.length, 1);
  // Choose the agent for quick tasks…: which task, then which agent (the current one marked).
  fake.quickPickAnswers.push("review", "claude");
  assert.equal(await commands.chooseAgent(), "claude");
  assert.equal(fake.quickPicks[1].items.find((i: { label: string }) => i.label === "review").description,
    "now: the configured agent");
  await commands.task("review");
  assert.deepEqual(runs(), [undefined, undefined, "claude"]);
  fake.quickPickAnswers.push(undefined); // dismissed: the choice stays
  await commands.chooseAgent("review");
  await commands.task("review");
  assert.deepEqual(runs(), [undefined, undefined, "claude", "claude"]);
});

test("no ready agent: the server's choice runs, with a warning", async () => {
  const { commands, runs } = setUp([agent("claude", false)]);
  editorOn("/ws/calc.py");
  await commands.task("review");
  assert.deepEqual(runs(), [undefined]);
  assert.match(fake.messages[0].message, /no agent is ready/);
});

test("the picker's items and memory", () => {
  const items = agentItems([agent("claude"), agent("gemini")], "gemini");
  assert.deepEqual(items.map((i) => [i.label, i.description]), [
    ["gemini", "1.0 · (last used)"], ["claude", "1.0"], ["the configured agent", "settings.task_agents of the configuration"]]);
  assert.equal(rememberedAgent(undefined, [agent("claude")]), undefined);
  assert.equal(rememberedAgent(SERVER_DEFAULT, []), SERVER_DEFAULT);
  assert.equal(rememberedAgent("codex", [agent("claude")]), undefined);
});
