// Settings → what the server gets, and how to start the server. Pure: no vscode import.
import * as path from "node:path";

/** The server's settings (docs/server.md, "Settings"), as VS Code stores them. */
export interface ServerSettings {
  defaultWorkflow?: string;
  applyMode?: string;
  agents?: Record<string, unknown>;
  maxContextBytes?: number | null;
  maxOpenDocumentsBytes?: number;
}

export const SERVER_SETTING_KEYS = [
  "defaultWorkflow", "applyMode", "agents", "maxContextBytes", "maxOpenDocumentsBytes",
] as const;

/** What happens to a run's edits: `review` (the default) keeps them as a proposal to accept or
 * reject hunk by hunk. */
export const APPLY_MODES: readonly string[] = ["review", "apply", "preview", "ask"];

/** A getter like `WorkspaceConfiguration.get`. */
export type Getter = <T>(key: string) => T | undefined;

export function readServerSettings(get: Getter): ServerSettings {
  const settings: ServerSettings = {};
  for (const key of SERVER_SETTING_KEYS) {
    const value = get<unknown>(key);
    if (value !== undefined) (settings as Record<string, unknown>)[key] = value;
  }
  return settings;
}

/** initializationOptions: the settings the server understands, unset and empty ones left out
 * (so the YAML configuration's values apply). */
export function initializationOptions(settings: ServerSettings): ServerSettings {
  const options: ServerSettings = {};
  if (typeof settings.defaultWorkflow === "string" && settings.defaultWorkflow.trim()) {
    options.defaultWorkflow = settings.defaultWorkflow.trim();
  }
  if (typeof settings.applyMode === "string" && APPLY_MODES.includes(settings.applyMode)) {
    options.applyMode = settings.applyMode;
  }
  if (settings.agents && typeof settings.agents === "object" && Object.keys(settings.agents).length) {
    options.agents = settings.agents;
  }
  if (typeof settings.maxContextBytes === "number") options.maxContextBytes = settings.maxContextBytes;
  if (typeof settings.maxOpenDocumentsBytes === "number") {
    options.maxOpenDocumentsBytes = settings.maxOpenDocumentsBytes;
  }
  return options;
}

export interface ServerCommand {
  command: string;
  args: string[];
  /** The setting the command came from, for messages. */
  setting: "agentls.server.path" | "agentls.server.python";
}

/** `python -m agentls serve` when a Python is set, else `<path> serve`. */
export function serverCommand(serverPath: string | undefined, python: string | undefined): ServerCommand {
  if (python && python.trim()) {
    return { command: python.trim(), args: ["-m", "agentls", "serve"], setting: "agentls.server.python" };
  }
  return { command: (serverPath ?? "").trim() || "agentls", args: ["serve"], setting: "agentls.server.path" };
}

export interface ResolveEnv {
  /** PATH as the extension host has it. */
  PATH?: string;
  HOME?: string;
  /** The first workspace folder, for relative paths such as `.venv/bin/agentls`. */
  workspaceFolder?: string;
  /** Whether a file exists and is executable. */
  isExecutable: (file: string) => boolean;
}

/** The executable a command names: `~` and `${workspaceFolder}` expanded, a bare name looked up
 * on PATH, a relative path taken from the workspace folder. Undefined when there is none. */
export function resolveExecutable(command: string, env: ResolveEnv): string | undefined {
  let file = command.trim();
  if (!file) return undefined;
  if (env.workspaceFolder) file = file.replace(/\$\{workspaceFolder\}/g, env.workspaceFolder);
  if (env.HOME && (file === "~" || file.startsWith("~/"))) file = env.HOME + file.slice(1);
  if (!file.includes("/") && !file.includes(path.sep)) {
    for (const dir of (env.PATH ?? "").split(path.delimiter)) {
      if (!dir) continue;
      const candidate = path.join(dir, file);
      if (env.isExecutable(candidate)) return candidate;
    }
    return undefined;
  }
  if (!path.isAbsolute(file)) {
    if (!env.workspaceFolder) return undefined;
    file = path.join(env.workspaceFolder, file);
  }
  return env.isExecutable(file) ? file : undefined;
}

/** The extension's README (shipped in the .vsix), whose Install section says how to get agentls. */
export const INSTALL_GUIDE = "README.md";
export const INSTALL_ACTION = "Install agentls";
export const SETTINGS_ACTION = "Open Settings";

/** What the user reads when the server cannot be started, and how to fix it. */
export function missingServerMessage(server: ServerCommand, problem: "missing" | "no-module" | string): string {
  const shown = [server.command, ...server.args].join(" ");
  if (server.setting === "agentls.server.python") {
    if (problem === "missing") {
      return `agentls: the Python \`${server.command}\` set in agentls.server.python was not found. ` +
        "Set it to a Python that has agentls installed, or clear it to use agentls.server.path.";
    }
    if (problem === "no-module") {
      return `agentls: \`${server.command}\` has no agentls module (\`${shown}\` cannot run). ` +
        "Install agentls into that Python (`pip install /path/to/agentls-checkout`) or set agentls.server.python to another one.";
    }
  } else if (problem === "missing") {
    const where = /[\\/]/.test(server.command) ? "was not found" : "was not found on PATH";
    return `agentls: the language server \`${server.command}\` ${where}, so agentls is off. ` +
      "Install agentls, then set agentls.server.path to its executable (e.g. .venv/bin/agentls) " +
      "or agentls.server.python to a Python that has it.";
  }
  return `agentls: \`${shown}\` could not start: ${problem}`;
}
