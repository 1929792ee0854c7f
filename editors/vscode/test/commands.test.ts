import { strict as assert } from "node:assert";
import { beforeEach, test } from "node:test";

import { Commands, withEditorTarget } from "../src/commands";
import { RunBook } from "../src/runs";
import { editorOn, fake } from "./fake-vscode";

/** The server side: records the commands and answers from a table. */
function setUp(answers: Record<string, unknown> = {}) {
  const sent: { command: string; argument: Record<string, unknown> }[] = [];
  const shown: { name: string; markdown: string }[] = [];
  const book = new RunBook();
  let next = 0;
  const server = {
    async execute<T>(command: string, argument: object): Promise<T | undefined> {
      sent.push({ command, argument: argument as Record<string, unknown> });
      if (command in answers) return answers[command] as T;
      if (command === "agentls.runTask" || command === "agentls.runWorkflow") {
        const runId = `run${++next}`;
        book.started(runId, `agentls: ${command}`);
        return { runId } as T;
      }
      return undefined;
    },
  };
  const view = { show: async (name: string, markdown: string) => { shown.push({ name, markdown }); } };
  return { sent, shown, book, commands: new Commands(server, book, view) };
}

beforeEach(() => fake.reset());

test("Review selection sends the selection's range; with none, the whole document", async () => {
  const { sent, commands } = setUp();
  editorOn("/ws/calc.py", 4, 0, 6, 0);
  assert.equal(await commands.task("review"), "run1");
  editorOn("/ws/calc.py", 2, 7);
  await commands.task("review");
  assert.deepEqual(sent, [
    { command: "agentls.runTask", argument: { uri: "file:///ws/calc.py",
      range: { start: { line: 4, character: 0 }, end: { line: 6, character: 0 } }, task: "review" } },
    { command: "agentls.runTask", argument: { uri: "file:///ws/calc.py", task: "review" } },
  ]);
});

test("without an editor a command says what to do and sends nothing", async () => {
  const { sent, commands } = setUp();
  assert.equal(await commands.task("explain"), undefined);
  assert.deepEqual(sent, []);
  assert.match(fake.messages[0].message, /open a file/);
});

test("Implement… asks for the instruction; dismissing it runs nothing", async () => {
  const { sent, commands } = setUp();
  editorOn("/ws/calc.py", 4, 0, 6, 0);
  fake.inputAnswers.push("handle empty lists", undefined);
  await commands.implement();
  await commands.implement();
  assert.equal(sent.length, 1);
  assert.equal(sent[0].argument.task, "implement");
  assert.equal(sent[0].argument.instruction, "handle empty lists");
});

test("Run workflow… picks from the server's workflows", async () => {
  const { sent, commands } = setUp({
    "agentls.listWorkflows": [
      { name: "default", description: "Codex implements", default: true, steps: [], maxIterations: 3 },
      { name: "offline", description: "ruff reviews the file", default: false, steps: [], maxIterations: 1 },
    ],
  });
  editorOn("/ws/calc.py");
  fake.quickPickAnswers.push("offline");
  await commands.runWorkflowPick();
  assert.deepEqual(fake.quickPicks[0].items.map((i: { label: string; description: string }) =>
    [i.label, i.description]), [["default", "default"], ["offline", ""]]);
  assert.deepEqual(sent.map((s) => [s.command, s.argument]), [
    ["agentls.listWorkflows", { uri: "file:///ws/calc.py" }],
    ["agentls.runWorkflow", { uri: "file:///ws/calc.py", workflow: "offline" }],
  ]);
});

test("Cancel run cancels the only run, or the one picked", async () => {
  const { sent, book, commands } = setUp({ "agentls.cancel": { cancelled: true } });
  assert.equal(await commands.cancelRun(), false);
  assert.match(fake.messages[0].message, /no run is going/);
  book.started("aaa", "agentls: review");
  await commands.cancelRun();
  book.started("bbb", "agentls: default");
  fake.quickPickAnswers.push((items) => items.find((i: { run: { runId: string } }) => i.run.runId === "aaa"));
  await commands.cancelRun();
  assert.deepEqual(sent.map((s) => s.argument), [{ runId: "aaa" }, { runId: "aaa" }]);
  assert.equal(fake.quickPicks[0].items[0].description, "bbb (latest)");
});

test("the runs' menu cancels nothing by itself: each choice does what it names", async () => {
  const { sent, book, commands } = setUp({ "agentls.cancel": { cancelled: true } });
  book.started("aaa", "agentls: review with gemini");
  book.started("bbb", "agentls: implement with codex");
  fake.quickPickAnswers.push(undefined); // dismissed
  await commands.runMenu();
  assert.deepEqual(fake.quickPicks[0].items.map((i: { label: string }) => i.label), [
    "$(bell) Show progress",
    "$(output) Show output",
    "$(stop-circle) Cancel agentls: implement with codex",
    "$(stop-circle) Cancel agentls: review with gemini",
    "$(book) Open report…",
  ]);
  assert.equal(fake.quickPicks[0].options.title, "agentls: 2 runs going");
  assert.deepEqual(sent, []);
  fake.quickPickAnswers.push("$(bell) Show progress");
  await commands.runMenu();
  assert.deepEqual(fake.executed.map((e) => e.command), ["notifications.showList"]);
  assert.deepEqual(sent, []);
  fake.quickPickAnswers.push("$(stop-circle) Cancel agentls: review with gemini");
  await commands.runMenu();
  assert.deepEqual(sent, [{ command: "agentls.cancel", argument: { runId: "aaa" } }]);
});

test("with no run going the status bar's menu is the commands' menu", async () => {
  const { commands } = setUp();
  fake.quickPickAnswers.push(undefined);
  await commands.runMenu();
  assert.match(fake.quickPicks[0].items[0].label, /Run workflow/);
});

const listed = (runId: string, title: string, fields: Record<string, unknown> = {}) => ({
  runId, title, status: "ok", note: "", uri: "file:///ws/calc.py", followable: true, applicable: false, ...fields,
});

test("Follow up… offers the runs the server can follow up, and sends the message", async () => {
  const answers: Record<string, unknown> = { "agentls.listRuns": [], "agentls.followUp": { runId: "aaa" } };
  const { sent, commands } = setUp(answers);
  await commands.followUp();
  assert.match(fake.messages[0].message, /no finished run/);
  answers["agentls.listRuns"] = [
    listed("bbb", "agentls: explain with claude"),
    listed("ccc", "agentls: review with gemini", { status: "running", followable: false }),
    listed("aaa", "agentls: default", { note: "applied to calc.py" }),
  ];
  fake.quickPickAnswers.push("agentls: default");
  fake.inputAnswers.push("  also handle None  ");
  await commands.followUp();
  assert.deepEqual(fake.quickPicks[0].items.map((i: { label: string }) => i.label),
    ["agentls: explain with claude", "agentls: default"]);
  assert.deepEqual(sent.at(-1), { command: "agentls.followUp", argument: { runId: "aaa", message: "also handle None" } });
});

test("Apply run… applies the only run with changes left to apply; the report offers it too", async () => {
  const answers: Record<string, unknown> = {
    "agentls.listRuns": [listed("aaa", "agentls: default"), listed("bbb", "agentls: implement with codex",
      { applicable: true, note: "not applied; Apply run applies it" })],
    "agentls.applyRun": { applied: true, note: "applied to calc.py" },
    "agentls.showRun": { runId: "bbb", status: "ok", markdown: "# implement\n", reportUri: null, note: "", applicable: true },
  };
  const { sent, commands } = setUp(answers);
  assert.equal(await commands.applyRun(), true);
  assert.deepEqual(sent.at(-1), { command: "agentls.applyRun", argument: { runId: "bbb" } });
  assert.equal(fake.quickPicks.length, 0, "one candidate: no pick");
  fake.messageAnswers.push("Apply");
  await commands.showReport("bbb");
  assert.equal(fake.messages.at(-2)?.kind, "warning");
  assert.deepEqual(fake.messages.at(-2)?.actions, ["Apply"]);
  assert.deepEqual(sent.filter((c) => c.command === "agentls.applyRun").length, 2);
  answers["agentls.listRuns"] = [];
  assert.equal(await commands.applyRun(), false);
  assert.match(fake.messages.at(-1)!.message, /no run has changes left to apply/);
});

test("Show run report and Show agents render markdown", async () => {
  const { shown, book, commands } = setUp({
    "agentls.showRun": { runId: "aaa", status: "ok", markdown: "# default — ok\n", reportUri: null, note: "" },
    "agentls.listAgents": [
      { name: "claude", adapter: "claude", enabled: true, binary: "/bin/claude", version: "2.1", credentials: false,
        ready: false, problems: ["set ANTHROPIC_API_KEY"], notes: [] },
      { name: "ruff", adapter: "ruff", enabled: true, binary: "/bin/ruff", version: "0.6", credentials: null,
        ready: true, problems: [], notes: [] },
    ],
  });
  book.started("aaa", "agentls: default");
  await commands.showReport();
  await commands.showAgents();
  assert.deepEqual(shown[0], { name: "run-aaa", markdown: "# default — ok\n" });
  assert.equal(shown[1].name, "agents");
  assert.match(shown[1].markdown, /1 of 2 enabled agents ready/);
  assert.match(shown[1].markdown, /\| \*\*claude\*\* \| claude \| \*\*not ready\*\* \| \/bin\/claude \| 2\.1 \| \*\*not set\*\* \|/);
  assert.match(shown[1].markdown, /- \*\*claude\*\*: set ANTHROPIC_API_KEY/);
});

test("a keybinding's run command without a uri runs on the active editor", () => {
  editorOn("/ws/calc.py", 4, 0, 6, 0);
  const range = { start: { line: 4, character: 0 }, end: { line: 6, character: 0 } };
  assert.deepEqual(withEditorTarget("agentls.runWorkflow", { workflow: "review" }),
    { uri: "file:///ws/calc.py", range, workflow: "review" });
  assert.deepEqual(withEditorTarget("agentls.runTask", { task: "explain", agent: "claude" }),
    { uri: "file:///ws/calc.py", range, task: "explain", agent: "claude" });
  assert.deepEqual(withEditorTarget("agentls.runTask", { uri: "file:///other.py", task: "review" }),
    { uri: "file:///other.py", task: "review" });
  assert.deepEqual(withEditorTarget("agentls.cancel", { runId: "aaa" }), { runId: "aaa" });
});

test("Run again without the cache… re-runs a finished run with noCache; none: it says so", async () => {
  const { sent, book, commands } = setUp({ "agentls.rerun": { runId: "bbb" } });
  assert.equal(await commands.rerun(), undefined);
  assert.match(fake.messages[0].message, /no finished run to run again/);
  book.started("aaa", "agentls: review with ruff");
  book.progressEnd("agentls-aaa-1", "review (ruff): ok, 1 iteration, 1 finding; cached answer of ruff");
  assert.equal(await commands.rerun(), "bbb");
  assert.equal(await commands.rerun("ccc"), "bbb");
  assert.deepEqual(sent, [
    { command: "agentls.rerun", argument: { runId: "aaa", noCache: true } },
    { command: "agentls.rerun", argument: { runId: "ccc", noCache: true } },
  ]);
});

test("Run workflow on what changed… asks for the revision and sends it with the folder", async () => {
  const { sent, commands } = setUp({
    "agentls.listWorkflows": [{ name: "offline", description: "ruff", default: true, steps: [], maxIterations: 1 }],
  });
  fake.reset();
  const vscode = await import("./fake-vscode");
  vscode.workspace.workspaceFolders = [{ uri: vscode.Uri.file("/ws"), name: "ws", index: 0 }];
  fake.inputAnswers.push("main");
  fake.quickPickAnswers.push("offline");
  assert.equal(await commands.runOnChanges(), "run1");
  assert.equal(fake.inputBoxes[0].value, "HEAD");
  assert.deepEqual(sent.map((s) => [s.command, s.argument]), [
    ["agentls.listWorkflows", { uri: "file:///ws" }],
    ["agentls.runWorkflow", { uri: "file:///ws", workflow: "offline", changed: "main" }],
  ]);
});

test("Run workflow on folder… runs on the explorer's folder; without a folder it says so", async () => {
  const { sent, commands } = setUp({
    "agentls.listWorkflows": [{ name: "offline", description: "ruff", default: true, steps: [], maxIterations: 1 }],
  });
  const vscode = await import("./fake-vscode");
  assert.equal(await commands.runOnFiles(), undefined);
  assert.match(fake.messages[0].message, /open a folder first/);
  fake.quickPickAnswers.push("offline");
  await commands.runOnFiles(vscode.Uri.file("/ws/src") as never);
  assert.equal(fake.quickPicks[0].options.title, "agentls: run a workflow on the files of src");
  assert.deepEqual(sent.at(-1), { command: "agentls.runWorkflow", argument: { uri: "file:///ws/src", workflow: "offline" } });
});
