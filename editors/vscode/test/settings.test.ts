import { strict as assert } from "node:assert";
import { test } from "node:test";

import {
  APPLY_MODES, initializationOptions, missingServerMessage, readServerSettings, resolveExecutable, serverCommand,
} from "../src/settings";

test("VS Code's settings become initializationOptions, unset ones left to the YAML", () => {
  const stored: Record<string, unknown> = {
    defaultWorkflow: "", applyMode: "review", agents: {}, maxContextBytes: null, maxOpenDocumentsBytes: 60000,
    "server.path": "agentls",
  };
  const settings = readServerSettings((key) => stored[key] as never);
  assert.deepEqual(Object.keys(settings).sort(),
    ["agents", "applyMode", "defaultWorkflow", "maxContextBytes", "maxOpenDocumentsBytes"]);
  assert.deepEqual(initializationOptions(settings), { applyMode: "review", maxOpenDocumentsBytes: 60000 });
});

test("applyMode: review (the default), apply, preview or ask, as package.json offers them", async () => {
  const { readFileSync } = await import("node:fs");
  const manifest = JSON.parse(readFileSync(`${__dirname}/../../package.json`, "utf8"));
  const mode = manifest.contributes.configuration.properties["agentls.applyMode"];
  assert.equal(mode.default, "review");
  assert.deepEqual(mode.enum, [...APPLY_MODES]);
  assert.equal(mode.enumDescriptions.length, APPLY_MODES.length);
  for (const applyMode of APPLY_MODES) assert.deepEqual(initializationOptions({ applyMode }), { applyMode });
});

test("every server setting goes through when set", () => {
  assert.deepEqual(initializationOptions({
    defaultWorkflow: " review ", applyMode: "preview", agents: { claude: { model: "opus" } },
    maxContextBytes: 200000, maxOpenDocumentsBytes: 0,
  }), {
    defaultWorkflow: "review", applyMode: "preview", agents: { claude: { model: "opus" } },
    maxContextBytes: 200000, maxOpenDocumentsBytes: 0,
  });
  assert.deepEqual(initializationOptions({ applyMode: "sometimes" }), {});
});

test("the server command: the executable, or python -m agentls", () => {
  assert.deepEqual(serverCommand("agentls", ""), { command: "agentls", args: ["serve"], setting: "agentls.server.path" });
  assert.deepEqual(serverCommand(" ", undefined).command, "agentls");
  assert.deepEqual(serverCommand("agentls", " /venv/bin/python "),
    { command: "/venv/bin/python", args: ["-m", "agentls", "serve"], setting: "agentls.server.python" });
});

test("the executable is looked up on PATH, from the workspace, or under ~", () => {
  const files = new Set(["/usr/bin/agentls", "/ws/.venv/bin/agentls", "/home/me/bin/agentls"]);
  const env = { PATH: "/nope:/usr/bin", HOME: "/home/me", workspaceFolder: "/ws",
    isExecutable: (file: string) => files.has(file) };
  assert.equal(resolveExecutable("agentls", env), "/usr/bin/agentls");
  assert.equal(resolveExecutable(".venv/bin/agentls", env), "/ws/.venv/bin/agentls");
  assert.equal(resolveExecutable("${workspaceFolder}/.venv/bin/agentls", env), "/ws/.venv/bin/agentls");
  assert.equal(resolveExecutable("~/bin/agentls", env), "/home/me/bin/agentls");
  assert.equal(resolveExecutable("/opt/agentls", env), undefined);
  assert.equal(resolveExecutable("agentls", { ...env, PATH: "/nope" }), undefined);
  assert.equal(resolveExecutable(".venv/bin/agentls", { ...env, workspaceFolder: undefined }), undefined);
});

test("the missing-binary message says what is missing and which setting fixes it", () => {
  const missing = missingServerMessage(serverCommand("agentls", ""), "missing");
  assert.match(missing, /`agentls` was not found on PATH/);
  assert.match(missing, /agentls\.server\.path/);
  assert.match(missing, /agentls\.server\.python/);
  assert.match(missingServerMessage(serverCommand("/opt/agentls", ""), "missing"), /`\/opt\/agentls` was not found, so/);
  const python = serverCommand("agentls", "/usr/bin/python3");
  assert.match(missingServerMessage(python, "no-module"), /`\/usr\/bin\/python3` has no agentls module/);
  assert.match(missingServerMessage(python, "missing"), /was not found/);
  assert.match(missingServerMessage(python, "spawn EACCES"), /`\/usr\/bin\/python3 -m agentls serve` could not start: spawn EACCES/);
});
