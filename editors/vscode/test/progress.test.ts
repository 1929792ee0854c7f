import { strict as assert } from "node:assert";
import { beforeEach, test } from "node:test";

import { NotificationProgressFeature } from "../src/progress";
import { Run, RunBook } from "../src/runs";
import { fake, ProgressLocation } from "./fake-vscode";

/** The client side of `window/workDoneProgress/create` and `$/progress`, driven by the test. */
class FakeClient {
  create: ((params: { token: string }) => void) | undefined;
  handlers = new Map<string, (value: unknown) => void>();
  sent: { method: string; params: unknown }[] = [];
  onRequest(type: { method: string }, handler: (params: { token: string }) => void) {
    assert.equal(type.method, "window/workDoneProgress/create");
    this.create = handler;
    return { dispose: () => undefined };
  }
  onProgress(_type: unknown, token: string, handler: (value: unknown) => void) {
    this.handlers.set(token, handler);
    return { dispose: () => this.handlers.delete(token) };
  }
  sendNotification(type: { method: string }, params: unknown) {
    this.sent.push({ method: type.method, params });
    return Promise.resolve();
  }
  progress(token: string, value: unknown) {
    this.handlers.get(token)?.(value);
  }
}

const TOKEN = "agentls-0123456789ab-cdef01";

function setUp() {
  const client = new FakeClient();
  const book = new RunBook();
  const ended: Run[] = [];
  const feature = new NotificationProgressFeature(client as never, book, (run) => ended.push(run));
  const capabilities: { window?: { workDoneProgress?: boolean } } = {};
  feature.fillClientCapabilities(capabilities as never);
  feature.initialize();
  return { client, book, ended, feature, capabilities };
}

beforeEach(() => fake.reset());

test("a run's progress is a notification with a cancel button", async () => {
  const { client, book, ended, capabilities } = setUp();
  assert.equal(capabilities.window?.workDoneProgress, true);
  client.create!({ token: TOKEN });
  client.progress(TOKEN, { kind: "begin", title: "agentls: default", cancellable: true, message: "starting",
    percentage: 0 });
  const [shown] = fake.progress;
  assert.deepEqual(shown.options, { location: ProgressLocation.Notification, title: "agentls: default",
    cancellable: true });
  assert.equal(book.status("running").text, "$(sync~spin) agentls: 1");
  client.progress(TOKEN, { kind: "report", message: "iteration 1 · step 2/3 review (gemini)", percentage: 33 });
  client.progress(TOKEN, { kind: "report", message: "review: ok" });
  assert.deepEqual(shown.reports, [
    { message: "starting", increment: 0 },
    { message: "iteration 1 · step 2/3 review (gemini)", increment: 33 },
    { message: "review: ok", increment: undefined },
  ]);
  assert.match(book.status("running").tooltip, /review: ok/);
  client.progress(TOKEN, { kind: "end", message: "ok, 1 iteration, 0 findings; applied to calc.py" });
  await shown.done;
  assert.equal(shown.finished, true);
  assert.equal(book.status("running").text, "$(hubot) agentls");
  assert.deepEqual(ended.map((r) => [r.runId, r.status]), [["0123456789ab", "done"]]);
  assert.equal(client.handlers.size, 0);
});

test("the cancel button sends window/workDoneProgress/cancel for the token", () => {
  const { client } = setUp();
  client.create!({ token: TOKEN });
  client.progress(TOKEN, { kind: "begin", title: "agentls: review", cancellable: true });
  fake.progress[0].cancel();
  assert.deepEqual(client.sent, [{ method: "window/workDoneProgress/cancel", params: { token: TOKEN } }]);
});

test("stopping the client closes the notifications", async () => {
  const { client, feature } = setUp();
  client.create!({ token: TOKEN });
  client.progress(TOKEN, { kind: "begin", title: "agentls: review", cancellable: true });
  assert.equal(feature.active, 1);
  feature.clear();
  await fake.progress[0].done;
  assert.equal(feature.active, 0);
  assert.equal(client.handlers.size, 0);
});
