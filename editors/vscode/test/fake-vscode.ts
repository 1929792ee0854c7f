// A small fake of the `vscode` module: what the extension uses, scripted and recorded.
// scripts/test.mjs bundles the tests with `vscode` aliased to this file.
/* eslint-disable @typescript-eslint/no-explicit-any */

type Listener<T> = (value: T) => void;

export class EventEmitter<T> {
  private listeners: Listener<T>[] = [];
  event = (listener: Listener<T>) => {
    this.listeners.push(listener);
    return { dispose: () => { this.listeners = this.listeners.filter((l) => l !== listener); } };
  };
  fire(value: T): void {
    for (const listener of [...this.listeners]) listener(value);
  }
  dispose(): void {
    this.listeners = [];
  }
}

export class Uri {
  constructor(readonly scheme: string, readonly path: string, private readonly raw?: string, readonly query = "") {}
  static parse(value: string): Uri {
    const match = /^([a-z][a-z0-9+.-]*):(?:\/\/[^/]*)?([^?#]*)(?:\?([^#]*))?/i.exec(value);
    return match ? new Uri(match[1], match[2], value, match[3] ?? "") : new Uri("file", value);
  }
  static file(path: string): Uri {
    return new Uri("file", path);
  }
  static joinPath(base: Uri, ...parts: string[]): Uri {
    return new Uri(base.scheme, [base.path.replace(/\/$/, ""), ...parts].join("/"));
  }
  static from(parts: { scheme: string; path: string; query?: string }): Uri {
    return new Uri(parts.scheme, parts.path, undefined, parts.query ?? "");
  }
  get fsPath(): string {
    return this.path;
  }
  toString(): string {
    if (this.raw) return this.raw;
    const query = this.query ? `?${this.query}` : "";
    return this.scheme === "file" ? `file://${this.path}${query}` : `${this.scheme}:${this.path}${query}`;
  }
}

export class Position {
  constructor(readonly line: number, readonly character: number) {}
}

export class Range {
  readonly start: Position;
  readonly end: Position;
  constructor(a: Position | number, b: Position | number, c?: number, d?: number) {
    this.start = typeof a === "number" ? new Position(a, b as number) : a;
    this.end = typeof a === "number" ? new Position(c as number, d as number) : b as Position;
  }
}

export class Selection extends Range {
  get isEmpty(): boolean {
    return this.start.line === this.end.line && this.start.character === this.end.character;
  }
}

export enum ProgressLocation { SourceControl = 1, Window = 10, Notification = 15 }
export enum StatusBarAlignment { Left = 1, Right = 2 }

export class CancellationTokenSource {
  private emitter = new EventEmitter<void>();
  isCancellationRequested = false;
  token = { isCancellationRequested: false, onCancellationRequested: this.emitter.event };
  cancel(): void {
    this.token.isCancellationRequested = true;
    this.emitter.fire();
  }
}

export class Disposable {
  constructor(private callback: () => void) {}
  dispose(): void {
    this.callback();
  }
}

export class CancellationError extends Error {}

export interface ShownProgress {
  options: { location: ProgressLocation; title?: string; cancellable?: boolean };
  reports: { message?: string; increment?: number }[];
  cancel: () => void;
  done: Promise<unknown>;
  finished: boolean;
}

/** What the tests script and read. */
export const fake = {
  messages: [] as { kind: "info" | "warning" | "error"; message: string; actions: string[] }[],
  /** Answers of the next showInformation/Warning/ErrorMessage calls (undefined: dismissed). */
  messageAnswers: [] as (string | undefined)[],
  quickPicks: [] as { items: any[]; options: any }[],
  /** The label (or a function choosing an item) of the next quick picks. */
  quickPickAnswers: [] as (string | ((items: any[]) => any) | undefined)[],
  inputBoxes: [] as any[],
  inputAnswers: [] as (string | undefined)[],
  progress: [] as ShownProgress[],
  executed: [] as { command: string; args: unknown[] }[],
  registered: new Map<string, (...args: any[]) => any>(),
  opened: [] as string[],
  configuration: {} as Record<string, unknown>,
  diagnostics: [] as any[],
  statusBarItems: [] as any[],
  /** Editor tabs (window.tabGroups), for the diffs a review closes. */
  tabs: [] as any[],
  closedTabs: [] as any[],
  reset(): void {
    this.messages = [];
    this.messageAnswers = [];
    this.quickPicks = [];
    this.quickPickAnswers = [];
    this.inputBoxes = [];
    this.inputAnswers = [];
    this.progress = [];
    this.executed = [];
    this.registered = new Map();
    this.opened = [];
    this.configuration = {};
    this.diagnostics = [];
    this.statusBarItems = [];
    this.tabs = [];
    this.closedTabs = [];
    window.activeTextEditor = undefined;
    workspace.workspaceFolders = undefined;
  },
};

function message(kind: "info" | "warning" | "error") {
  return (text: string, ...actions: any[]) => {
    fake.messages.push({ kind, message: text, actions: actions.filter((a) => typeof a === "string") });
    return Promise.resolve(fake.messageAnswers.shift());
  };
}

export const window = {
  activeTextEditor: undefined as any,
  showInformationMessage: message("info"),
  showWarningMessage: message("warning"),
  showErrorMessage: message("error"),
  setStatusBarMessage: (text: string) => {
    fake.messages.push({ kind: "info", message: text, actions: [] });
    return new Disposable(() => undefined);
  },
  showQuickPick: (items: any[], options?: any) => {
    fake.quickPicks.push({ items, options });
    const answer = fake.quickPickAnswers.shift();
    if (typeof answer === "function") return Promise.resolve(answer(items));
    return Promise.resolve(items.find((item) => item.label === answer));
  },
  showInputBox: (options?: any) => {
    fake.inputBoxes.push(options);
    return Promise.resolve(fake.inputAnswers.shift());
  },
  withProgress: (options: any, task: (progress: any, token: any) => Promise<unknown>) => {
    const source = new CancellationTokenSource();
    const shown: ShownProgress = { options, reports: [], cancel: () => source.cancel(), done: Promise.resolve(),
      finished: false };
    fake.progress.push(shown);
    shown.done = task({ report: (value: any) => shown.reports.push(value) }, source.token)
      .then((value) => { shown.finished = true; return value; });
    return shown.done;
  },
  createOutputChannel: (name: string) => ({
    name, lines: [] as string[],
    appendLine(line: string) { this.lines.push(line); },
    append() { /* unused */ }, show() { /* unused */ }, dispose() { /* unused */ },
  }),
  createStatusBarItem: (..._args: unknown[]) => {
    const item = { text: "", tooltip: "", command: "", name: "", visible: false,
      show() { this.visible = true; }, hide() { this.visible = false; }, dispose() { /* unused */ } };
    fake.statusBarItems.push(item);
    return item;
  },
  createTreeView: (_id: string, options: any) => ({ options, dispose() { /* unused */ } }),
  tabGroups: {
    get all() { return [{ tabs: fake.tabs }]; },
    close: (tabs: any[]) => {
      fake.closedTabs.push(...tabs);
      fake.tabs = fake.tabs.filter((tab) => !tabs.includes(tab));
      return Promise.resolve(true);
    },
  },
  showTextDocument: (document: any) => {
    fake.opened.push(String(document.uri ?? document));
    return Promise.resolve({ document });
  },
};

export const commands = {
  registerCommand: (name: string, handler: (...args: any[]) => any) => {
    fake.registered.set(name, handler);
    return new Disposable(() => fake.registered.delete(name));
  },
  executeCommand: (command: string, ...args: unknown[]) => {
    fake.executed.push({ command, args });
    const handler = fake.registered.get(command);
    return Promise.resolve(handler ? handler(...args) : undefined);
  },
};

export const workspace = {
  workspaceFolders: undefined as { uri: Uri; name: string; index: number }[] | undefined,
  getConfiguration: (section?: string) => ({
    get: <T>(key: string, fallback?: T): T | undefined => {
      const full = section ? `${section}.${key}` : key;
      return (full in fake.configuration ? fake.configuration[full] : fallback) as T | undefined;
    },
  }),
  onDidChangeConfiguration: (_listener: unknown) => new Disposable(() => undefined),
  registerTextDocumentContentProvider: (_scheme: string, _provider: unknown) => new Disposable(() => undefined),
  openTextDocument: (uri: any) => Promise.resolve({ uri }),
};

export const languages = {
  registerCodeLensProvider: (_selector: unknown, _provider: unknown) => new Disposable(() => undefined),
  getDiagnostics: (_uri: unknown) => fake.diagnostics,
  setTextDocumentLanguage: (document: unknown) => Promise.resolve(document),
};

export const env = {
  openExternal: (uri: Uri) => {
    fake.opened.push(uri.toString());
    return Promise.resolve(true);
  },
};

export const version = "1.139.0";

/** An active editor on `path` with a selection from (l1, c1) to (l2, c2). */
export function editorOn(path: string, l1 = 0, c1 = 0, l2 = l1, c2 = c1): void {
  window.activeTextEditor = {
    document: { uri: Uri.file(path) },
    selection: new Selection(new Position(l1, c1), new Position(l2, c2)),
  };
}

// Classes vscode-languageclient extends when it loads; the tests never construct them.
export class CallHierarchyItem {}
export class CodeLens {
  constructor(readonly range: Range, readonly command?: { title: string; command: string; arguments?: unknown[] }) {}
}
export class CompletionItem {}
export class DocumentLink {}
export class InlayHint {}
export class SymbolInformation {}
export class TypeHierarchyItem {}
export class CodeAction {}
export class Diagnostic {}

export enum TreeItemCollapsibleState { None = 0, Collapsed = 1, Expanded = 2 }

export class TreeItem {
  id?: string;
  description?: string;
  tooltip?: unknown;
  contextValue?: string;
  iconPath?: unknown;
  resourceUri?: Uri;
  command?: { title: string; command: string; arguments?: unknown[] };
  constructor(readonly label: string, readonly collapsibleState = TreeItemCollapsibleState.None) {}
}

export class ThemeIcon {
  constructor(readonly id: string) {}
}

export class MarkdownString {
  constructor(readonly value = "") {}
}

export class TabInputTextDiff {
  constructor(readonly original: Uri, readonly modified: Uri) {}
}

/** A Memento, as `context.workspaceState`. */
export function memento(): { get<T>(key: string): T | undefined; update(key: string, value: unknown): Promise<void>; values: Map<string, unknown> } {
  const values = new Map<string, unknown>();
  return {
    values,
    get: <T>(key: string) => values.get(key) as T | undefined,
    update: (key: string, value: unknown) => {
      if (value === undefined) values.delete(key);
      else values.set(key, value);
      return Promise.resolve();
    },
  };
}
