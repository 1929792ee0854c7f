import { strict as assert } from "node:assert";
import { test } from "node:test";

import { diagnosticNotes, runTitle, selectionRange, taskArgs, workflowArgs } from "../src/args";

const at = (line: number, character = 0) => ({ line, character });
const uri = "file:///ws/calc.py";

test("an empty selection runs on the whole document: no range", () => {
  const cursor = { start: at(4, 3), end: at(4, 3), isEmpty: true };
  assert.equal(selectionRange(cursor), undefined);
  assert.deepEqual(taskArgs(uri, cursor, "review"), { uri, task: "review" });
  assert.deepEqual(workflowArgs(uri, cursor), { uri });
  assert.deepEqual(workflowArgs(uri, undefined, { workflow: "offline" }), { uri, workflow: "offline" });
});

test("a selection becomes the LSP range it is", () => {
  const selection = { start: at(4), end: at(6), isEmpty: false };
  assert.deepEqual(selectionRange(selection), { start: at(4), end: at(6) });
  assert.deepEqual(workflowArgs(uri, selection, { workflow: "default", instruction: "  handle empty lists " }),
    { uri, range: { start: at(4), end: at(6) }, instruction: "handle empty lists", workflow: "default" });
});

test("empty fields are left out so the server's defaults apply", () => {
  const selection = { start: at(1), end: at(2, 5), isEmpty: false };
  assert.deepEqual(taskArgs(uri, selection, "implement", { agent: "", instruction: "   " }),
    { uri, range: { start: at(1), end: at(2, 5) }, task: "implement" });
  assert.deepEqual(taskArgs(uri, selection, "refine", { agent: "claude" }),
    { uri, range: { start: at(1), end: at(2, 5) }, task: "refine", agent: "claude" });
});

test("other tools' diagnostics in the selection go along as lines of text", () => {
  const diagnostics = [
    { source: "Pylance", message: "x is not defined", range: { start: at(5, 4), end: at(5, 5) } },
    { source: "agentls", message: "empty list (gemini)", range: { start: at(5), end: at(5, 40) } },
    { message: "far away", range: { start: at(20), end: at(20, 3) } },
  ];
  const selection = { start: at(4), end: at(6), isEmpty: false };
  assert.deepEqual(taskArgs(uri, selection, "review", { diagnostics }).diagnostics,
    ["Pylance: line 6: x is not defined"]);
  assert.deepEqual(diagnosticNotes(diagnostics, undefined),
    ["Pylance: line 6: x is not defined", "editor: line 21: far away"]);
  const cursor = { start: at(0), end: at(0), isEmpty: true };
  assert.equal(taskArgs(uri, cursor, "review", { diagnostics: [diagnostics[1]] }).diagnostics, undefined);
});

test("run titles until the server names the run", () => {
  assert.equal(runTitle("agentls.runTask", { task: "review", agent: "gemini" }), "agentls: review with gemini");
  assert.equal(runTitle("agentls.runTask", { task: "explain" }), "agentls: explain");
  assert.equal(runTitle("agentls.runWorkflow", { workflow: "thorough" }), "agentls: thorough");
  assert.equal(runTitle("agentls.runWorkflow", {}), "agentls: default workflow");
  assert.equal(runTitle("agentls.rerun", {}), "agentls: run again");
});
