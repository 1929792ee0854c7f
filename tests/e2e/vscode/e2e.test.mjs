// End to end in a real VS Code (code-server) driven like a person drives it: keyboard, menus,
// what the screen shows. The packaged extension runs the real agentls server, which runs the
// fake agent CLIs (tests/fakes) steered by scenario files. Run by run.sh (node --test).
import { strict as assert } from "node:assert";
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";

import { Host, SAMPLE } from "./host.mjs";

const ARTIFACTS = process.env.AGENTLS_E2E_ARTIFACTS;
const SCREENSHOT = process.env.AGENTLS_E2E_SCREENSHOT; // where the README's screenshot goes

const NEW_MEAN = "def mean(values):\n    return sum(values) / len(values) if values else 0.0\n";
const FIX = "    return sum(values) / max(len(values), 1)\n";
const FINDINGS = "```json\n" + JSON.stringify({ findings: [{ line: 6, severity: "error", message:
  "mean() divides by zero on an empty list", code: "zero-div", suggestion: FIX }] }) + "\n```";
const TWO_FINDINGS = "```json\n" + JSON.stringify({ findings: [
  { line: 2, severity: "warning", message: "add() has no type hints", code: "no-hints" },
  { line: 6, severity: "error", message: "mean() divides by zero on an empty list", code: "zero-div" },
] }) + "\n```";
const code = (text) => `Here:\n\`\`\`python\n${text}\`\`\`\n`;

let host;
let page;
const sleep = (ms) => new Promise((done) => setTimeout(done, ms));
const t0 = Date.now();
/** With AGENTLS_E2E_VERBOSE=1, when each step happened. */
const mark = (what) => process.env.AGENTLS_E2E_VERBOSE && console.log(`# ${Date.now() - t0} ms: ${what}`);

/** Where the docs' screenshots go (run.sh --screenshot), else nowhere. */
const DOC_IMAGES = process.env.AGENTLS_E2E_DOC_IMAGES;

/** The folder settings of the tests that want a run's edits applied at once. */
const APPLY = { "agentls.applyMode": "apply" };

/** A screenshot for the docs: the part of the window around `selector` (the whole window
 * without one), kept small. Also in the artifacts. */
async function docShot(name, selector, maxHeight = 800) {
  await page.mouse.move(1270, 790); // no hover tooltip in the picture
  await sleep(300);
  await shot(name);
  if (!DOC_IMAGES) return;
  mkdirSync(DOC_IMAGES, { recursive: true });
  let clip;
  if (selector) {
    const box = await page.locator(selector).first().boundingBox();
    if (box) {
      const x = Math.max(0, box.x - 24);
      const y = Math.max(0, box.y - 24);
      clip = { x, y, width: Math.min(1280 - x, box.width + 48), height: Math.min(800 - y, box.height + 48, maxHeight) };
    }
  }
  await page.screenshot({ path: join(DOC_IMAGES, `${name}.png`), clip });
}

async function shot(name) {
  if (!ARTIFACTS) return;
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`) });
}

/** The active editor's text as displayed (Monaco renders each line as a positioned div). */
function editorText() {
  return page.evaluate(() => {
    const editor = document.querySelector(".part.editor .editor-group-container.active .monaco-editor");
    if (!editor) return null;
    const lines = [...editor.querySelectorAll(".view-lines .view-line")].map((line) => ({
      top: parseFloat(line.style.top), text: line.textContent.replace(/\u00a0/g, " "),
    }));
    lines.sort((a, b) => a.top - b.top);
    return lines.map((line) => line.text).join("\n");
  });
}

async function waitFor(what, check, timeout = 30_000) {
  const deadline = Date.now() + timeout;
  let last;
  while (Date.now() < deadline) {
    last = await check();
    if (last) return last;
    await sleep(100);
  }
  await shot(`timeout-${what.replace(/\W+/g, "-")}`);
  throw new Error(`timed out waiting for ${what} (last: ${JSON.stringify(last)})`);
}

async function waitText(expected, what) {
  let text;
  await waitFor(what, async () => (text = await editorText()) === expected).catch((error) => {
    throw new Error(`${error.message}; the editor holds ${JSON.stringify(text)}`);
  });
}

/** The status bar entry of the extension. */
const runsItem = () => page.locator(".part.statusbar .statusbar-item").filter({ hasText: /agentls/ }).first();

async function statusText() {
  return (await runsItem().innerText()).trim();
}

async function gotoLine(line) {
  await page.keyboard.press("Control+G");
  await page.keyboard.type(String(line));
  await page.keyboard.press("Enter");
  await sleep(200);
}

/** Opens a code action menu (Ctrl+. Quick Fix, Ctrl+Shift+R Refactor) and runs `title`. */
async function codeAction(title, keys = "Control+.") {
  const item = page.locator(".action-widget .monaco-list-row").filter({ hasText: title }).first();
  for (let attempt = 1; ; attempt++) {
    await sleep(500); // the editor settles its selection and its automatic code action request
    await page.keyboard.press(keys);
    try {
      await item.waitFor({ timeout: 3000 });
      break;
    } catch (error) {
      // VS Code now and then answers a menu from a stale automatic request: ask again.
      await page.keyboard.press("Escape");
      if (attempt === 3) {
        await shot(`no-code-action-${keys}`);
        throw error;
      }
    }
  }
  await item.click();
}

async function palette(command, pick) {
  const input = page.locator(".quick-input-widget input");
  for (let attempt = 1; ; attempt++) {
    await page.keyboard.press("F1");
    try {
      await input.waitFor({ state: "visible", timeout: 3000 });
      break;
    } catch (error) {
      // A focused webview (the markdown preview) can keep F1: give the focus to the workbench.
      if (attempt === 3) throw error;
      await page.locator(".part.sidebar .composite.title").click();
    }
  }
  await page.keyboard.type(command);
  const row = page.locator(".quick-input-widget .monaco-list-row").filter({ hasText: command }).first();
  await row.waitFor({ timeout: 10_000 });
  await row.click();
  if (pick) {
    const choice = page.locator(".quick-input-widget .monaco-list-row").filter({ hasText: pick }).first();
    await choice.waitFor({ timeout: 10_000 });
    await choice.click();
  }
}

async function closeTab(name) {
  const tab = page.locator(".tabs-container .tab").filter({ hasText: name }).first();
  await tab.hover();
  await tab.locator(".tab-actions .action-label").first().click({ force: true });
  await tab.waitFor({ state: "detached", timeout: 5000 });
}

/** The content of the webview on screen (a markdown preview). */
function visibleWebview() {
  return page.frameLocator("iframe.webview.ready >> visible=true").frameLocator("iframe#active-frame");
}

/** The calc.py editor, focused. */
async function focusEditor() {
  await page.locator(".tabs-container .tab").filter({ hasText: "calc.py" }).first().click();
  await page.click(".part.editor .editor-group-container.active .monaco-editor .view-lines");
}

function toast(text) {
  return page.locator(".notifications-toasts .notification-toast").filter({ hasText: text }).first();
}

async function closeToasts() {
  await palette("Notifications: Clear All Notifications");
  await sleep(200);
}

before(async () => {
  host = await Host.start({ log: (line) => console.log(line) });
  page = host.page;
  await page.locator(".explorer-folders-view .monaco-list-row").filter({ hasText: "calc.py" }).click();
  await waitText(SAMPLE, "calc.py in the editor");
  await waitFor("the agentls server", async () => (await statusText()) === "agentls");
  await focusEditor();
  mark("ready");
});

after(async () => {
  if (host) {
    await shot("last");
    await host.stop();
    const log = host.serverLogPath();
    if (ARTIFACTS && log) copyFileSync(log, join(ARTIFACTS, "agentls-output.log"));
    const runs = host.outputLogPath("agentls runs");
    if (ARTIFACTS && runs) copyFileSync(runs, join(ARTIFACTS, "agentls-runs-output.log"));
  }
});

test("a code action runs a workflow: cancellable progress, one edit, one undo", async () => {
  const w = host.workspace;
  w.scenario("codex", { reply: code(NEW_MEAN), delay_s: 2.5 });
  w.scenario("gemini", { reply: '{"findings": []}' });
  w.scenario("claude", { reply: code(NEW_MEAN) });
  await gotoLine(5);
  await page.keyboard.press("Shift+ArrowDown");
  await page.keyboard.press("Shift+End");
  mark("select");
  await codeAction("agentls: run default on the selection (codex → gemini → claude)", "Control+Shift+R");
  mark("code action chosen");

  // The run's work-done progress: a notification with its title, step and a Cancel button.
  const progress = toast("agentls: default");
  await progress.waitFor({ timeout: 15_000 });
  await waitFor("the step in the notification", async () =>
    /step 1\/3 implement \(codex\)/.test(await progress.innerText()));
  assert.equal(await progress.getByRole("button", { name: "Cancel" }).count(), 1);
  assert.equal(await statusText(), "agentls: 1");
  await shot("progress");
  mark("progress seen");

  // The edit lands in the editor (not on disk), in one piece, and the run's summary follows.
  const edited = SAMPLE.replace("def mean(values):\n    return sum(values) / len(values)\n", NEW_MEAN);
  await waitText(edited, "the workflow's edit");
  mark("edit landed");
  assert.equal(w.text(), SAMPLE, "agentls edits the buffer; the user saves");
  const summary = toast("applied to calc.py");
  await summary.waitFor({ timeout: 15_000 });
  assert.match(await summary.innerText(), /agentls: default: ok, 1 iteration, 0 findings, 1 file changed; applied to calc.py/);
  assert.equal(await summary.getByRole("button", { name: "Show report" }).count(), 1);
  await waitFor("the status bar to go idle", async () => (await statusText()) === "agentls");
  mark("idle");
  assert.deepEqual(w.calls("codex").length, 1);
  assert.match(w.calls("codex")[0].prompt, /def mean\(values\)/);

  // One undo takes the whole run back.
  await focusEditor();
  await page.keyboard.press("Control+Z");
  await waitText(SAMPLE, "one undo to revert the run");
  await closeToasts();
  mark("undone");
});

test("review diagnostics appear and their quick fix applies", async () => {
  const w = host.workspace;
  w.scenario("gemini", { reply: FINDINGS });
  await focusEditor();
  await gotoLine(1);
  await palette("agentls: Review selection"); // no selection: the whole file

  // The first quick task of a kind asks which ready agent runs it (remembered from then on).
  const rows = page.locator(".quick-input-widget .monaco-list-row");
  await rows.filter({ hasText: "gemini" }).first().waitFor({ timeout: 10_000 });
  const offered = await rows.allInnerTexts();
  for (const agent of ["claude", "codex", "gemini", "copilot"]) {
    assert.ok(offered.some((row) => row.startsWith(agent)), `${agent} is offered: ${JSON.stringify(offered)}`);
  }
  assert.match(await page.locator(".quick-input-widget").innerText(), /which agent should review\?/);
  await docShot("vscode-agent-picker", ".quick-input-widget");
  await rows.filter({ hasText: "gemini" }).first().click();
  await waitFor("the review's squiggle", async () => (await page.locator(".monaco-editor .squiggly-error").count()) > 0);

  // The Problems panel lists it with its source, code and the reviewing agent.
  await page.keyboard.press("Control+Shift+M");
  const problem = page.locator(".markers-panel .monaco-list-row").filter({ hasText: "divides by zero" }).first();
  await problem.waitFor({ timeout: 10_000 });
  const row = await problem.innerText();
  assert.match(row, /mean\(\) divides by zero on an empty list \(gemini\)/);
  assert.match(row, /agentls/);
  assert.match(row, /zero-div/);
  assert.match(row, /\[Ln 6/);

  // Hovering the squiggle shows the finding, as in the README's screenshot.
  await closeToasts();
  await focusEditor();
  await gotoLine(6);
  await page.keyboard.press("End");
  await page.keyboard.press("Control+K");
  await page.keyboard.press("Control+I");
  await page.locator(".monaco-hover").filter({ hasText: "divides by zero" }).first().waitFor({ timeout: 10_000 });
  await sleep(300);
  await shot("review");
  if (SCREENSHOT) await page.screenshot({ path: SCREENSHOT });
  await page.keyboard.press("Escape");

  // Its quick fix puts the reviewer's suggestion in, and the finding goes with the old line.
  await focusEditor();
  await gotoLine(6);
  await codeAction("agentls: apply gemini's suggestion for zero-div");
  await waitText(SAMPLE.replace("    return sum(values) / len(values)\n", FIX), "the quick fix's edit");
  await waitFor("the finding to go", async () => (await page.locator(".monaco-editor .squiggly-error").count()) === 0);
  await page.keyboard.press("Control+Z");
  await waitText(SAMPLE, "undoing the quick fix");
});

/** Selects lines 5-6 of calc.py: mean(). */
async function selectMean() {
  await focusEditor();
  await gotoLine(5);
  await page.keyboard.press("Shift+ArrowDown");
  await page.keyboard.press("Shift+End");
}

test("findings follow the code: an implement drops the one it fixed, a range review keeps the rest", async () => {
  const w = host.workspace;
  const squiggles = (kind) => page.locator(`.monaco-editor .squiggly-${kind}`).count();
  w.scenario("gemini", { reply: TWO_FINDINGS });
  await focusEditor();
  await page.keyboard.press("Control+A"); // all of it, not the earlier review's cached question
  await palette("agentls: Review selection"); // add() and mean() flagged
  await waitFor("both findings", async () => (await squiggles("error")) === 1 && (await squiggles("warning")) === 1);

  // codex rewrites mean(): its finding goes, add()'s stays.
  w.scenario("codex", { reply: code(NEW_MEAN) });
  await selectMean();
  await codeAction("agentls: implement the selection with codex", "Control+Shift+R");
  await waitText(SAMPLE.replace("def mean(values):\n    return sum(values) / len(values)\n", NEW_MEAN), "the implement's edit");
  await waitFor("mean()'s finding to go", async () => (await squiggles("error")) === 0);
  assert.equal(await squiggles("warning"), 1, "add()'s finding stays");

  // gemini reviews mean() alone and finds nothing: add()'s finding, outside the range, stays.
  // (The first test's workflow had gemini review this text already: the answer may be cached.)
  w.scenario("gemini", { reply: '{"findings": []}' });
  await closeToasts();
  await selectMean();
  await palette("agentls: Review selection");
  await toast("review (gemini): ok, 1 iteration, 0 findings").waitFor({ timeout: 15_000 });
  assert.equal(await squiggles("warning"), 1, "a review of lines 5-6 keeps the finding on line 2");
  await shot("findings-follow-the-code");

  await focusEditor();
  await page.keyboard.press("Control+Z");
  await waitText(SAMPLE, "undoing the implement");
  await palette("agentls: Clear review diagnostics");
  await waitFor("no finding left", async () => (await squiggles("warning")) === 0);
  await closeToasts();
});

test("Cancel in the progress notification stops the run and leaves the text alone", async () => {
  const w = host.workspace;
  w.scenario("codex", { reply: code(NEW_MEAN), delay_s: 60 });
  const before = w.calls("codex").length;
  await focusEditor();
  await gotoLine(2);
  await codeAction("agentls: implement the file with codex");
  const progress = toast("agentls: implement with codex");
  await progress.waitFor({ timeout: 15_000 });
  await waitFor("codex to start", async () => w.calls("codex").length > before);
  assert.equal(await statusText(), "agentls: 1");
  await progress.getByRole("button", { name: "Cancel" }).click();
  await waitFor("the status bar to go idle", async () => (await statusText()) === "agentls", 15_000);
  await sleep(500);
  assert.equal(await editorText(), SAMPLE);
  assert.equal(await toast("cancelled").count(), 0, "a cancelled run needs no summary");
  assert.deepEqual(w.fakesRunning("codex"), [], "the agent's process is gone");
});

test("a click on the status bar during a run opens the runs' menu; only its Cancel cancels", async () => {
  const w = host.workspace;
  w.scenario("codex", { reply: code(NEW_MEAN), delay_s: 60 });
  const before = w.calls("codex").length;
  await focusEditor();
  await gotoLine(2);
  await codeAction("agentls: implement the file with codex");
  await waitFor("codex to start", async () => w.calls("codex").length > before);
  await waitFor("the run in the status bar", async () => (await statusText()) === "agentls: 1");

  await runsItem().click();
  const rows = page.locator(".quick-input-widget .monaco-list-row");
  const cancel = rows.filter({ hasText: "Cancel agentls: implement with codex" }).first();
  await cancel.waitFor({ timeout: 10_000 });
  for (const label of ["Show progress", "Show output", "Open report"]) {
    assert.equal(await rows.filter({ hasText: label }).count(), 1, label);
  }
  await shot("runs-menu");
  await page.keyboard.press("Escape");
  assert.equal(await statusText(), "agentls: 1", "the click cancelled nothing");
  assert.notDeepEqual(w.fakesRunning("codex"), [], "codex still works");

  await runsItem().click();
  await cancel.waitFor({ timeout: 10_000 });
  await cancel.click();
  await waitFor("the status bar to go idle", async () => (await statusText()) === "agentls", 15_000);
  assert.equal(await editorText(), SAMPLE);
  await closeToasts();
});

/** The server's "settings applied" log records, oldest first. */
function settingsApplied() {
  const path = host.serverLogPath();
  if (!path) return [];
  return readFileSync(path, "utf8").split("\n").filter((line) => line.includes('"settings applied"'))
    .map((line) => JSON.parse(line.slice(line.indexOf("{"))));
}

/** Write the folder's settings file and wait until the server has them (VS Code notices a
 * changed settings file after a while that varies: a fixed sleep was seen to be too short). */
async function folderSettings(path, values, applyMode) {
  const seen = settingsApplied().length;
  writeFileSync(path, JSON.stringify(values));
  await waitFor(`the server to apply applyMode ${applyMode}`, async () => {
    const applied = settingsApplied();
    return applied.length > seen && applied.at(-1).apply_mode === applyMode;
  }, 20_000);
}

/** The text of the markdown preview on screen once it matches `pattern`. */
async function previewText(pattern) {
  let text = "";
  await waitFor(`a preview matching ${pattern}`, async () => {
    text = await visibleWebview().locator("body").innerText({ timeout: 1000 }).catch(() => "");
    return pattern.test(text);
  }, 20_000);
  return text;
}

test("Show run report and Show agents open markdown previews", async () => {
  // The markdown extension shows one preview at a time: the report, then the agents in its tab.
  await palette("agentls: Show run report", "agentls: implement with codex");
  const report = page.locator(".tabs-container .tab").filter({ hasText: /Preview run-[0-9a-f]+\.md/ }).first();
  await report.waitFor({ timeout: 15_000 });
  const reportText = await previewText(/implement \(codex\) — cancelled/);
  assert.match(reportText, /implement \(codex\): cancelled, 1 iteration, 0 findings, 0 files changed/);
  assert.match(reportText, /\nnothing applied\s*$/, "the report ends with what became of the run's edits");
  await palette("agentls: Show agents");
  const agents = page.locator(".tabs-container .tab").filter({ hasText: "Preview agents.md" }).first();
  await agents.waitFor({ timeout: 15_000 });
  const text = await previewText(/enabled agents ready/);
  assert.match(text, /5 of 5 enabled agents ready/);
  assert.match(text, /codex\s+codex\s+ready\s+\S+tests\/fakes\/bin\/codex/);
  await shot("agents");
  await closeTab("Preview agents.md");
});

test("Explain opens the report with the agent's explanation", async () => {
  host.workspace.scenario("claude", { reply: "EXPLANATION: mean() divides the sum by the count." });
  await focusEditor();
  await palette("agentls: Explain", "claude"); // the first explain: which agent
  const report = page.locator(".tabs-container .tab").filter({ hasText: /run-[0-9a-f]+/ }).first();
  await report.waitFor({ timeout: 15_000 });
  const text = await previewText(/explain \(claude\) — ok/);
  await closeTab(/Preview run-/);
  assert.match(text, /EXPLANATION: mean\(\) divides the sum by the count\./);
});

/** The tick boxes of the refactor preview's changes (true: ticked), or null without the panel. */
function previewTicks() {
  return page.evaluate(() => {
    const panel = document.querySelector(".bulk-edit-panel");
    if (!panel) return null;
    return [...panel.querySelectorAll("input.edit-checkbox, .monaco-checkbox")].map((box) =>
      box instanceof HTMLInputElement ? box.checked
        : box.classList.contains("checked") || box.getAttribute("aria-checked") === "true");
  });
}

test("preview opens with every change ticked; a follow-up on the quick task goes on where its edit left", async () => {
  const w = host.workspace;
  const OLD_MEAN = "def mean(values):\n    return sum(values) / len(values)\n";
  const ONE_LINE = "def mean(values): return sum(values) / len(values) if values else 0.0\n";
  const SHORTER = "def mean(values):\n    return sum(values) / len(values) if values else 0\n";
  const settings = join(w.folder, ".vscode/settings.json");
  mkdirSync(join(w.folder, ".vscode"), { recursive: true });
  await folderSettings(settings, { "agentls.applyMode": "preview" }, "preview");
  w.scenario("claude", { reply: code(ONE_LINE) });
  await focusEditor();
  await gotoLine(5);
  await page.keyboard.press("Shift+ArrowDown");
  await page.keyboard.press("Shift+End");
  await palette("agentls: Refine", "claude"); // the first refine: which agent

  // The refactor preview: every change ticked, so Apply applies them all.
  await waitFor("the refactor preview's changes", async () => (await previewTicks())?.length > 0, 30_000);
  const ticks = await previewTicks();
  await shot("preview");
  assert.ok(ticks.every(Boolean), `every change is ticked: ${JSON.stringify(ticks)}`);
  await page.locator(".bulk-edit-panel .monaco-button").filter({ hasText: /^Apply$/ }).first().click();
  await waitText(SAMPLE.replace(OLD_MEAN, ONE_LINE), "the previewed edit applied (lines 5-6 became line 5)");
  mark("preview applied");

  // Follow up… offers the quick task, which goes on with the line the edit left.
  await folderSettings(settings, APPLY, "apply");
  w.scenario("claude", { reply: code(SHORTER) });
  await closeToasts();
  await palette("agentls: Follow up…", "agentls: refine with claude");
  // The run's pick closes before the message box opens: type only once the box is there.
  const box = page.locator(".quick-input-widget").filter({ hasText: "follow up on" });
  await box.waitFor({ state: "visible", timeout: 10_000 });
  await box.locator("input").fill("two lines please");
  await page.keyboard.press("Enter");
  await waitText(SAMPLE.replace(OLD_MEAN, SHORTER), "the follow-up's edit");
  assert.match(w.calls("claude").at(-1).prompt, /lines 5-5 of calc\.py/);
  assert.equal(await toast("no workflow named").count(), 0);
  mark("followed up");
});

test("a proposal discarded in the preview stays applicable: the end message's Apply applies it", async () => {
  const w = host.workspace;
  const before = await editorText();
  const settings = join(w.folder, ".vscode/settings.json");
  await folderSettings(settings, { "agentls.applyMode": "preview" }, "preview");
  w.scenario("claude", { reply: code(NEW_MEAN) });
  const calls = w.calls("claude").length;
  await focusEditor();
  await gotoLine(5);
  await page.keyboard.press("Shift+ArrowDown");
  await page.keyboard.press("Shift+End");
  await palette("agentls: Refine");
  await waitFor("the refactor preview", async () => (await previewTicks())?.length > 0, 30_000);
  await page.locator(".bulk-edit-panel .monaco-button").filter({ hasText: /^Discard$/ }).first().click();

  // Told once, with a way to apply it that runs no agent again, and no internal command id.
  const told = toast("not applied");
  await told.waitFor({ timeout: 15_000 });
  await sleep(500);
  assert.equal(await toast("not applied").count(), 1);
  const text = await told.innerText();
  assert.match(text, /not applied; Apply run \(in a terminal: `agentls apply [0-9a-f]+`\)/);
  assert.doesNotMatch(text, /agentls\.[a-z]+[A-Z]|the editor did not/);
  assert.equal(await editorText(), before, "discarded: the text is as it was");
  await shot("discarded");
  await told.getByRole("button", { name: "Apply" }).click();
  const edited = before.replace(/def mean\(values\):\n[^\n]*\n(    [^\n]*\n)?/, NEW_MEAN);
  await waitText(edited, "the discarded proposal applied later");
  assert.equal(w.calls("claude").length, calls + 1, "the agent ran once");
  await folderSettings(settings, APPLY, "apply");
  await closeToasts();
});

/** Picks `agent` in the agent picker if a quick task asks (the first of its kind does). */
async function pickAgentIfAsked(agent) {
  const picker = page.locator(".quick-input-widget").filter({ hasText: "which agent should" });
  try {
    await picker.waitFor({ state: "visible", timeout: 2000 });
  } catch {
    return;
  }
  await picker.locator(".monaco-list-row").filter({ hasText: agent }).first().click();
}

/** The rows of the runs view (activity bar → agentls → Runs). */
const runsRows = () => page.locator('.pane-body[aria-label*="Runs"] .monaco-list-row, [id="workbench.view.extension.agentls"] .monaco-list-row');

test("review mode: the proposal in a diff, one change accepted by its lens, another rejected with a reason", async () => {
  const w = host.workspace;
  const settings = join(w.folder, ".vscode/settings.json");
  await folderSettings(settings, { "agentls.applyMode": "review" }, "review");
  await closeToasts();
  const before = await editorText();
  const ADD = "    return float(a) + float(b)\n";
  const MEAN = "def mean(values):\n    return statistics.fmean(values)\n";
  const proposed = before.replace("    return a + b\n", ADD).replace(/def mean\(values\):\n[^\n]*\n(    [^\n]*\n)?/, MEAN);
  assert.notEqual(proposed, before);
  w.scenario("claude", { reply: code(proposed) });
  await focusEditor();
  await gotoLine(1);
  await palette("agentls: Refine");
  await pickAgentIfAsked("claude"); // picked for refine by an earlier test, unless run alone

  // The run ends with a proposal: nothing applied, a Review button.
  const told = toast("proposed");
  await told.waitFor({ timeout: 30_000 });
  assert.match(await told.innerText(), /2 changes proposed in 1 file/);
  assert.equal(await editorText(), before, "review mode applies nothing");
  await told.getByRole("button", { name: "Review" }).click();

  // One diff per file: the real file against the proposal, Accept / Reject over each change.
  const diff = page.locator(".part.editor .monaco-diff-editor").first();
  await diff.waitFor({ timeout: 15_000 });
  await page.locator(".tabs-container .tab").filter({ hasText: "calc.py: 2 changes proposed by claude" }).first()
    .waitFor({ timeout: 10_000 });
  // The extension's lenses on the proposed side, the server's own on the file's side.
  const lens = (side, title) => diff.locator(`.editor.${side} .codelens-decoration a`).filter({ hasText: title });
  await waitFor("the changes' lenses", async () => (await lens("modified", "Accept (claude)").count()) === 2 &&
    (await lens("original", "Accept (claude)").count()) === 2);
  await closeToasts();
  await docShot("vscode-review-diff", ".part.editor");

  // Accept the first change (add()) on the proposed side; reject the other on the file's side
  // (the server's lens, whose command the extension completes with a reason).
  await lens("modified", "Accept (claude)").first().click();
  await waitFor("one change left", async () => (await lens("modified", "Accept (claude)").count()) === 1 &&
    (await lens("original", "Reject").count()) === 1);
  await lens("original", "Reject").first().click();
  const box = page.locator(".quick-input-widget").filter({ hasText: "reject 1 change" });
  await box.waitFor({ state: "visible", timeout: 10_000 });
  await box.locator("input").fill("keep mean() free of imports");
  await page.keyboard.press("Enter");

  // Nothing left to decide: the diff closes; the file has the accepted change only.
  await waitFor("the diff to close", async () => (await page.locator(".part.editor .monaco-diff-editor").count()) === 0);
  await focusEditor();
  await waitText(before.replace("    return a + b\n", ADD), "only the accepted change");
  const fileLenses = page.locator(".part.editor .editor-group-container.active .monaco-editor .codelens-decoration a");
  await waitFor("the server's lenses to go from the file", async () => (await fileLenses.count()) === 0);
  // The runs' output channel tells the run readably: its steps, the time, how it ended.
  const runsLog = readFileSync(host.outputLogPath("agentls runs"), "utf8");
  assert.match(runsLog, /\[0:\d\d refine with claude\] iteration 1 · step 1\/1 refine \(claude\)/);
  assert.match(runsLog, /\[0:\d\d refine with claude\] ended: .*2 changes proposed/);
  assert.doesNotMatch(runsLog, /"type":/, "no raw JSON");
  mark("reviewed");
});

test("the runs view shows the run, its step, its file and its changes in their states", async () => {
  await palette("agentls: Focus on Runs View");
  const run = runsRows().filter({ hasText: "refine with claude" }).first();
  await run.waitFor({ timeout: 15_000 });
  assert.match(await run.innerText(), /partly applied · 1 accepted, 1 rejected/);
  await run.click(); // expands it
  const step = runsRows().filter({ hasText: "refine (claude)" }).first();
  await step.waitFor({ timeout: 10_000 });
  await waitFor("the file and its hunks", async () => (await runsRows().filter({ hasText: /line 2/ }).count()) === 1);
  const rows = await runsRows().allInnerTexts();
  assert.ok(rows.some((row) => /calc\.py/.test(row)), JSON.stringify(rows));
  assert.ok(rows.some((row) => /line 2.*accepted · claude/s.test(row)), JSON.stringify(rows));
  assert.ok(rows.some((row) => /statistics\.fmean.*rejected · claude/s.test(row)), JSON.stringify(rows));
  await docShot("vscode-runs-view", ".part.sidebar", 300);
  const settings = join(host.workspace.folder, ".vscode/settings.json");
  await folderSettings(settings, APPLY, "apply");
  await palette("View: Close Primary Side Bar");
});

test("a missing server is an error with an Install button, after a settings change restarts it", async () => {
  mkdirSync(join(host.workspace.folder, ".vscode"), { recursive: true });
  writeFileSync(join(host.workspace.folder, ".vscode/settings.json"),
    JSON.stringify({ "agentls.server.path": "/nonexistent/agentls" }));
  const error = toast("was not found");
  await error.waitFor({ timeout: 20_000 });
  assert.match(await error.innerText(), /the language server `\/nonexistent\/agentls` was not found/);
  assert.equal(await error.getByRole("button", { name: "Install agentls" }).count(), 1);
  await waitFor("the warning in the status bar", async () => (await statusText()) === "agentls" &&
    (await runsItem().locator(".codicon-warning").count()) === 1);
  await shot("missing");
});
