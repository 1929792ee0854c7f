import { strict as assert } from "node:assert";
import { test } from "node:test";

import { initializationOptions, missingBinaryMessage, RunBook, runTarget, serverCommand } from "../src/logic";

const here = { line: 4, character: 0 };

test("an empty selection runs on the whole document", () => {
  assert.deepEqual(runTarget("file:///a.py", { start: here, end: here, isEmpty: true }, { workflow: "default" }),
    { uri: "file:///a.py", workflow: "default" });
});

test("a selection becomes the LSP range, empty fields are dropped", () => {
  const end = { line: 6, character: 0 };
  assert.deepEqual(runTarget("file:///a.py", { start: here, end, isEmpty: false }, { task: "review", agent: "" }),
    { uri: "file:///a.py", task: "review", range: { start: here, end } });
});

test("settings become initializationOptions without the empty ones", () => {
  assert.deepEqual(initializationOptions({ defaultWorkflow: "", applyMode: "ask", agents: {}, maxContextBytes: null,
    maxOpenDocumentsBytes: 1000 }), { applyMode: "ask", maxOpenDocumentsBytes: 1000 });
});

test("the server command", () => {
  assert.deepEqual(serverCommand("agentls", ""), { command: "agentls", args: ["serve"] });
  assert.deepEqual(serverCommand("agentls", " /venv/bin/python "), { command: "/venv/bin/python",
    args: ["-m", "agentls", "serve"] });
});

test("the missing binary message says how to fix it", () => {
  const message = missingBinaryMessage("agentls", "ENOENT");
  assert.match(message, /agentls.server.path/);
  assert.match(message, /ENOENT/);
});

test("the run book follows progress tokens", () => {
  const book = new RunBook();
  assert.equal(book.statusText(), "$(hubot) agentls");
  book.started("abc123", "review");
  book.started("def456", "default");
  assert.equal(book.statusText(), "$(sync~spin) agentls: 2 running");
  book.ended("agentls-abc123-9f9f9f");
  assert.deepEqual(book.running(), [{ runId: "def456", title: "default" }]);
  assert.equal(book.last, "def456");
});
