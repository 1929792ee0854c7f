import { strict as assert } from "node:assert";
import { test } from "node:test";

import { endStatus, RunBook, runIdOfToken } from "../src/runs";

test("the run id is read from the server's progress tokens", () => {
  assert.equal(runIdOfToken("agentls-3f2a9c1b0d4e-a1b2c3"), "3f2a9c1b0d4e");
  assert.equal(runIdOfToken("some-other-token"), undefined);
  assert.equal(runIdOfToken(42), undefined);
});

test("how a run ended, from its end message", () => {
  assert.equal(endStatus("failed: codex is not on PATH"), "failed");
  assert.equal(endStatus("cancelled"), "cancelled");
  assert.equal(endStatus("default: ok, 1 iteration, 0 findings, 1 file changed; applied to calc.py"), "done");
  assert.equal(endStatus("review: partial, 1 iteration, 2 findings, 0 files changed"), "done");
  assert.equal(endStatus("implement (codex): cancelled, 1 iteration, 0 findings, 0 files changed; nothing applied"),
    "cancelled");
  assert.equal(endStatus("thorough: failed, 1 iteration, 0 findings, 0 files changed; codex failed"), "failed");
});

test("the status bar counts running runs and clicking it opens the runs' menu", () => {
  const book = new RunBook();
  let changes = 0;
  book.onChange(() => changes++);
  assert.deepEqual(book.status("running"), { text: "$(hubot) agentls",
    tooltip: "agentls: no run going (click for the commands)", command: "agentls.showMenu" });

  book.started("aaa111", "agentls: review with gemini", { task: "review", uri: "file:///a.py" });
  book.progressBegin("agentls-aaa111-000001", "agentls: review with gemini");
  book.progressBegin("agentls-bbb222-000002", "agentls: default"); // started from a code action
  book.progressReport("agentls-bbb222-000002", "iteration 1 · step 1/3 implement (codex)");
  const busy = book.status("running");
  assert.equal(busy.text, "$(sync~spin) agentls: 2");
  assert.equal(busy.command, "agentls.runMenu");
  assert.match(busy.tooltip, /2 agentls runs going/);
  assert.match(busy.tooltip, /agentls: default: iteration 1 · step 1\/3 implement \(codex\)/);
  assert.deepEqual(book.running().map((r) => r.runId), ["bbb222", "aaa111"]);

  const ended = book.progressEnd("agentls-aaa111-000001", "ok, 1 iteration, 1 finding");
  assert.equal(ended?.status, "done");
  assert.equal(ended?.task, "review");
  assert.equal(book.status("running").text, "$(sync~spin) agentls: 1");
  book.progressEnd("agentls-bbb222-000002", "cancelled");
  assert.equal(book.status("running").text, "$(hubot) agentls");
  assert.equal(book.get("bbb222")?.status, "cancelled");
  assert.ok(changes >= 6);
});

test("a follow-up runs under its run's id again", () => {
  const book = new RunBook();
  book.progressBegin("agentls-aaa111-000001", "agentls: default");
  book.progressEnd("agentls-aaa111-000001", "ok");
  book.started("bbb222", "agentls: review");
  book.progressEnd("agentls-bbb222-000002", "ok");
  assert.equal(book.last()?.runId, "bbb222");
  book.started("aaa111", "agentls: follow-up");
  assert.equal(book.last()?.runId, "aaa111");
  assert.equal(book.get("aaa111")?.status, "running");
  assert.deepEqual(book.recent().map((r) => r.runId), ["aaa111", "bbb222"]);
});

test("the server's title wins; an answer after the begin keeps it", () => {
  const book = new RunBook();
  book.progressBegin("agentls-ccc333-000003", "agentls: implement with codex");
  book.started("ccc333", "agentls: implement", { task: "implement" });
  assert.equal(book.get("ccc333")?.title, "agentls: implement with codex");
  assert.equal(book.get("ccc333")?.task, "implement");
});

test("runs are lost with the server, and a stale run can be closed", () => {
  const book = new RunBook();
  book.started("ddd444", "agentls: review");
  book.started("eee555", "agentls: default");
  book.finished("ddd444", "it had already finished");
  assert.equal(book.get("ddd444")?.status, "done");
  book.serverStopped();
  assert.equal(book.get("eee555")?.status, "lost");
  assert.equal(book.running().length, 0);
  assert.equal(book.status("stopped").command, "agentls.restartServer");
  assert.equal(book.status("missing").text, "$(warning) agentls");
});
