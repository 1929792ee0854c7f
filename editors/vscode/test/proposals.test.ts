import { strict as assert } from "node:assert";
import { test } from "node:test";

import {
  countsText, Hunk, hunkLines, ListedRun, placeInProposal, Proposal, runChildren, runNode, ShownRun,
} from "../src/proposals";

const range = (l1: number, l2: number) => ({ start: { line: l1, character: 0 }, end: { line: l2, character: 0 } });

function hunk(id: string, fields: Partial<Hunk> = {}): Hunk {
  return { id, state: "pending", range: range(4, 6), oldText: "old\nold\n", newText: "new\n", agent: "codex",
    step: "implement", reason: "handle empty lists", ...fields };
}

const listed: ListedRun = {
  runId: "aaa111", title: "agentls: default", status: "done", note: "default: ok, 1 iteration", uri: "file:///ws/calc.py",
  followable: true, applicable: true, state: "proposed", proposal: { pending: 2, accepted: 1, rejected: 0, stale: 0 },
};

test("a run node says its state and its proposal's counts, and its menus' words", () => {
  const node = runNode(listed);
  assert.equal(node.label, "default");
  assert.equal(node.description, "proposed · 2 pending, 1 accepted");
  assert.equal(node.icon, "git-pull-request");
  assert.deepEqual(node.contextValue.split(" "), ["run", "proposed", "finished", "pending", "followable", "applicable", "undoable"]);
  const running = runNode({ ...listed, state: "running", proposal: null, followable: false, applicable: false });
  assert.equal(running.description, "running");
  assert.equal(running.icon, "sync~spin");
  assert.equal(running.contextValue, "run running running");
  // Before the review API: the state from the status.
  const old = runNode({ ...listed, state: undefined, proposal: undefined, applicable: false });
  assert.equal(old.description, "done");
  assert.equal(runNode({ ...listed, state: "partly applied", proposal: null }).contextValue.includes("partly-applied"), true);
});

test("a run's tree: steps, the files each proposed changes to, their hunks in their states", () => {
  const shown: ShownRun = { runId: "aaa111", status: "ok", steps: [
    { step: "implement", agent: "codex", task: "implement", status: "ok", iteration: 1 },
    { step: "review", agent: "gemini", task: "review", status: "ok", iteration: 1 },
    { step: "implement", agent: "codex", task: "implement", status: "ok", iteration: 2 },
  ] };
  const proposal: Proposal = { runId: "aaa111", title: "default", files: [
    { uri: "file:///ws/pkg/calc.py", path: "pkg/calc.py", proposedText: "", hunks: [
      hunk("h1"), hunk("h2", { state: "accepted", range: range(0, 1) }), hunk("h3", { state: "stale", range: null }),
    ] },
    { uri: "file:///ws/b.py", path: "b.py", proposedText: "", hunks: [hunk("h4", { step: "fix", agent: "claude" })] },
  ] };
  const [first, review, second, other] = runChildren("aaa111", shown, proposal);
  assert.equal(first.label, "implement (codex)");
  assert.equal(first.expandable, false, "its hunks are under the step's last iteration");
  assert.equal(review.description, "ok");
  assert.equal(second.description, "ok · iteration 2");
  const [file] = second.children!;
  assert.equal(file.label, "calc.py");
  assert.equal(file.description, "pkg · 1 pending, 1 accepted, 1 stale");
  assert.equal(file.contextValue, "file pending");
  assert.deepEqual(file.children!.map((h) => [h.label, h.description, h.icon, h.contextValue]), [
    ["lines 5-6: handle empty lists", "pending · codex", "diff-modified", "hunk pending"],
    ["line 1: handle empty lists", "accepted · codex", "check", "hunk accepted"],
    ["lines edited since: handle empty lists", "stale · codex", "warning", "hunk stale"],
  ]);
  assert.match(file.children![0].tooltip, /codex proposes: handle empty lists\nReplaces:\n```\nold\nold\n```\nWith:\n```\nnew\n```/);
  assert.equal(other.label, "changes", "hunks of a step the run does not list");
  assert.equal(other.children![0].children![0].hunk, "h4");
  // Ids are unique and stable.
  const ids = [first, review, second, other, file, ...file.children!].map((n) => n.id);
  assert.equal(new Set(ids).size, ids.length);
  // Without steps (an older server's showRun): the files.
  assert.deepEqual(runChildren("aaa111", { runId: "aaa111", status: "ok" }, proposal).map((n) => n.label), ["calc.py", "b.py"]);
  assert.deepEqual(runChildren("aaa111", undefined, undefined), []);
});

test("hunk lines are 1-based, end-exclusive or end-inclusive ranges alike", () => {
  assert.equal(hunkLines(hunk("h", { range: range(4, 6) })), "lines 5-6");
  assert.equal(hunkLines(hunk("h", { range: { start: { line: 4, character: 0 }, end: { line: 5, character: 12 } } })), "lines 5-6");
  assert.equal(hunkLines(hunk("h", { range: range(4, 4) })), "line 5");
  assert.equal(hunkLines(hunk("h", { state: "rejected", range: null, newText: "\n    return statistics.fmean(values)\n" })),
    "“return statistics.fmean(values)”");
  assert.equal(hunkLines(hunk("h", { state: "accepted", range: null, newText: "", oldText: "x = 1\n" })), "“x = 1”");
  assert.equal(hunkLines(hunk("h", { state: "stale", range: null })), "lines edited since");
  assert.equal(countsText({ pending: 0, accepted: 0, rejected: 2, stale: 0 }), "2 rejected");
});

test("pending hunks are placed in the proposed text, moved by the lines above them", () => {
  const placed = placeInProposal({ uri: "file:///ws/c.py", path: "c.py", proposedText: "", hunks: [
    hunk("h3", { range: range(10, 10), oldText: "", newText: "a\nb\n" }), // an insertion at line 11
    hunk("h1", { range: range(1, 3), oldText: "x\ny\n", newText: "z\n" }), // two lines become one
    hunk("h2", { state: "rejected", range: range(5, 6), oldText: "q\n", newText: "r\ns\n" }),
    hunk("h4", { range: range(12, 13), oldText: "k\n", newText: "" }), // a deletion
  ] });
  assert.deepEqual(placed.map(({ hunk, line }) => [hunk.id, line]), [["h1", 1], ["h3", 9], ["h4", 13]]);
});
