import { strict as assert } from "node:assert";
import { beforeEach, test } from "node:test";

import { Commands, decisionOf } from "../src/commands";
import { Proposal } from "../src/proposals";
import { proposalUri, Review } from "../src/review";
import { RunBook } from "../src/runs";
import { fake, TabInputTextDiff, Uri } from "./fake-vscode";

const CALC = "file:///ws/calc.py";

function proposal(states: string[] = ["pending", "pending"]): Proposal {
  return { runId: "aaa111", title: "default", files: [{
    uri: CALC, path: "calc.py", proposedText: "def add(a, b):\n    return a + b\n",
    hunks: [
      { id: "h1", state: states[0] as "pending", range: { start: { line: 1, character: 0 }, end: { line: 2, character: 0 } },
        oldText: "    return a+b\n", newText: "    return a + b\n", agent: "claude", step: "refine", reason: "spacing" },
      { id: "h2", state: states[1] as "pending", range: { start: { line: 4, character: 0 }, end: { line: 4, character: 0 } },
        oldText: "", newText: "\n\ndef sub(a, b):\n    return a - b\n", agent: "claude", step: "refine", reason: "sub()" },
    ],
  }] };
}

function setUp() {
  const sent: { command: string; argument: Record<string, unknown> }[] = [];
  let current = proposal();
  let decided = 0;
  const server = {
    async execute<T>(command: string, argument: object): Promise<T | undefined> {
      sent.push({ command, argument: argument as Record<string, unknown> });
      if (command === "agentls.showProposal") return current as T;
      if (command === "agentls.acceptChange") {
        current = proposal(["accepted", "pending"]);
        return { accepted: ["h1"], stale: [], note: "1 change accepted in calc.py" } as T;
      }
      if (command === "agentls.rejectChange") {
        current = proposal(["accepted", "rejected"]);
        return { rejected: ["h2"] } as T;
      }
      if (command === "agentls.listRuns") {
        return [{ runId: "aaa111", title: "agentls: default", status: "done", note: "", uri: CALC, followable: true,
          applicable: true, state: "proposed", proposal: { pending: 2, accepted: 0, rejected: 0, stale: 0 } },
        { runId: "bbb222", title: "agentls: review", status: "done", note: "", uri: CALC, followable: true,
          applicable: false, state: "done", proposal: null }] as T;
      }
      return undefined;
    },
  };
  const review = new Review(server, () => decided++);
  const commands = new Commands(server, new RunBook(), { show: async () => undefined }, undefined, { review });
  return { sent, review, commands, decisions: () => decided };
}

beforeEach(() => fake.reset());

test("Review proposal opens a diff per file: the real file against its proposed text", async () => {
  const { review, commands } = setUp();
  assert.equal(await commands.reviewProposal(), 1, "the only run with pending changes, without a pick");
  const diff = fake.executed.find((c) => c.command === "vscode.diff")!;
  assert.equal(String(diff.args[0]), CALC);
  const right = diff.args[1] as Uri;
  assert.equal(right.toString(), "agentls-proposal:/calc.py?aaa111");
  assert.equal(diff.args[2], "calc.py: 2 changes proposed by claude");
  assert.equal(review.provideTextDocumentContent(right as never), "def add(a, b):\n    return a + b\n");
  // Lenses over each pending hunk on the proposed side, running the decisions on that hunk.
  const lenses = review.provideCodeLenses({ uri: right } as never);
  assert.deepEqual(lenses.map((l) => [l.range.start.line, l.command!.title, l.command!.command, l.command!.arguments]), [
    [1, "Accept (claude)", "agentls.runs.accept", [{ runId: "aaa111", hunks: ["h1"], uri: CALC }]],
    [1, "Reject", "agentls.runs.reject", [{ runId: "aaa111", hunks: ["h1"], uri: CALC }]],
    [4, "Accept (claude)", "agentls.runs.accept", [{ runId: "aaa111", hunks: ["h2"], uri: CALC }]],
    [4, "Reject", "agentls.runs.reject", [{ runId: "aaa111", hunks: ["h2"], uri: CALC }]],
  ]);
  assert.deepEqual(review.provideCodeLenses({ uri: Uri.parse("agentls-proposal:/other.py?aaa111") } as never), []);
});

test("accept, then reject with a reason: the proposal is asked again after each, the done diff closes", async () => {
  const { sent, commands, decisions } = setUp();
  await commands.reviewProposal("aaa111");
  const right = proposalUri("aaa111", "calc.py");
  fake.tabs.push({ input: new TabInputTextDiff(Uri.parse(CALC), right) }, { input: { uri: Uri.parse(CALC) } });
  await commands.decide("accept", { runId: "aaa111", hunks: ["h1"], uri: CALC });
  assert.deepEqual(sent.slice(-2).map((s) => s.command), ["agentls.acceptChange", "agentls.showProposal"]);
  assert.equal(decisions(), 1);
  assert.equal(fake.closedTabs.length, 0, "h2 still pending");
  assert.match(fake.messages.at(-1)!.message, /1 change accepted in calc.py/);

  fake.inputAnswers.push(undefined); // Escape: nothing is rejected
  assert.equal(await commands.decide("reject", { runId: "aaa111", hunks: ["h2"], uri: CALC }), undefined);
  assert.equal(sent.filter((s) => s.command === "agentls.rejectChange").length, 0);
  fake.inputAnswers.push("  no sub() here ");
  await commands.decide("reject", { runId: "aaa111", hunks: ["h2"], uri: CALC });
  assert.match(fake.inputBoxes.at(-1).title, /reject 1 change/);
  assert.deepEqual(sent.find((s) => s.command === "agentls.rejectChange")!.argument,
    { runId: "aaa111", hunks: ["h2"], uri: CALC, reason: "no sub() here" });
  assert.equal(fake.closedTabs.length, 1, "nothing pending in calc.py: its diff closes");
  assert.equal(fake.tabs.length, 1, "the file's own tab stays");
  // A reason given (an editor that passed one) is not asked for.
  const asked = fake.inputBoxes.length;
  await commands.decide("reject", { runId: "aaa111", reason: "" });
  assert.equal(fake.inputBoxes.length, asked);
});

test("the review diff's title buttons decide every change of its file", async () => {
  const { sent, commands } = setUp();
  await commands.reviewProposal("aaa111");
  await commands.handlers()["agentls.review.acceptFile"](proposalUri("aaa111", "calc.py"));
  assert.deepEqual(sent.find((s) => s.command === "agentls.acceptChange")!.argument, { runId: "aaa111", uri: CALC });
  await commands.handlers()["agentls.review.acceptFile"](Uri.parse(CALC)); // not a proposal: nothing
  assert.equal(sent.filter((s) => s.command === "agentls.acceptChange").length, 1);
});

test("runs view nodes become the decisions' arguments", () => {
  assert.deepEqual(decisionOf({ kind: "run", runId: "r1" }), { runId: "r1" });
  assert.deepEqual(decisionOf({ kind: "file", runId: "r1", uri: CALC, path: "calc.py" }), { runId: "r1", uri: CALC });
  assert.deepEqual(decisionOf({ kind: "hunk", runId: "r1", uri: CALC, hunk: "h3" }), { runId: "r1", hunks: ["h3"], uri: CALC });
  assert.deepEqual(decisionOf({ runId: "r1", hunks: ["h1"] }), { runId: "r1", hunks: ["h1"] });
  assert.equal(decisionOf(undefined), undefined);
  assert.equal(decisionOf({ kind: "run" }), undefined);
});

test("every command of the runs view's menus is contributed and handled", async () => {
  const { readFileSync } = await import("node:fs");
  const manifest = JSON.parse(readFileSync(`${__dirname}/../../package.json`, "utf8"));
  const contributed = new Set(manifest.contributes.commands.map((c: { command: string }) => c.command));
  const handled = new Set(Object.keys(setUp().commands.handlers()));
  const menus = manifest.contributes.menus as Record<string, { command: string }[]>;
  const used = Object.values(menus).flat().map((item) => item.command);
  assert.ok(used.includes("agentls.runs.accept"));
  for (const command of used) {
    assert.ok(contributed.has(command), `${command} is contributed`);
    assert.ok(handled.has(command), `${command} is handled`);
  }
  assert.deepEqual(manifest.contributes.views.agentls.map((v: { id: string }) => v.id), ["agentls.runs"]);
});
