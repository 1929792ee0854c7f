import { strict as assert } from "node:assert";
import { test } from "node:test";

import { activate, deactivate } from "../src/extension";
import { fake, memento, Uri } from "./fake-vscode";

test("a missing agentls binary is an error message with an Install button, not a crash", async () => {
  fake.reset();
  fake.configuration["agentls.server.path"] = "/nonexistent/bin/agentls";
  fake.messageAnswers.push("Install agentls");
  await activate({ subscriptions: [], extensionUri: Uri.file("/ext"), workspaceState: memento() } as never);
  const [error] = fake.messages.filter((m) => m.kind === "error");
  assert.match(error.message, /`\/nonexistent\/bin\/agentls` was not found/);
  assert.deepEqual(error.actions, ["Install agentls", "Open Settings"]);
  await new Promise((resolve) => setImmediate(resolve));
  // The Install button opens the install guide shipped in the extension (no network needed).
  const preview = fake.executed.find((c) => c.command === "markdown.showPreview");
  assert.equal(String(preview?.args[0]), "file:///ext/README.md");
  const [status] = fake.statusBarItems;
  assert.equal(status.text, "$(warning) agentls");
  assert.equal(status.visible, true);
  assert.ok(fake.registered.has("agentls.reviewSelection"));
  await fake.registered.get("agentls.reviewSelection")!(); // no editor: a hint, no crash
  await deactivate();
});

test("a Python without agentls is told so", async () => {
  fake.reset();
  fake.configuration["agentls.server.python"] = process.execPath; // node: `-c "import agentls"` fails
  await activate({ subscriptions: [], extensionUri: Uri.file("/ext"), workspaceState: memento() } as never);
  const [error] = fake.messages.filter((m) => m.kind === "error");
  assert.match(error.message, /has no agentls module/);
  await deactivate();
});
