import { strict as assert } from "node:assert";
import { test } from "node:test";

import { elapsed, RunLog, spentIn } from "../src/runlog";

test("a run's progress as readable lines: steps, the agent's lines, the time since it started", () => {
  const log = new RunLog();
  const t = 1_000_000;
  assert.deepEqual(log.begin("aaa111", "agentls: default", t), ["[0:00 default] started (run aaa111)"]);
  assert.deepEqual(log.report("aaa111", "starting", t), []);
  assert.deepEqual(log.report("aaa111", "iteration 1 · step 1/3 implement (codex) · 1 s", t + 1000),
    ["[0:01 default] iteration 1 · step 1/3 implement (codex)"]);
  assert.deepEqual(log.report("aaa111", "iteration 1 · step 1/3 implement (codex) · 7 s: $ pytest -q", t + 7000),
    ["[0:07 default]   codex: $ pytest -q"]);
  assert.deepEqual(log.report("aaa111", "iteration 1 · step 1/3 implement (codex) · 8 s: I will guard the division.", t + 8000),
    ["[0:08 default]   codex: I will guard the division."]);
  assert.deepEqual(log.report("aaa111", "iteration 1 · step 1/3 implement (codex) · 8 s: Here:\n```python\nx = 1\n```", t + 8000), [
    "[0:08 default]   codex: Here:",
    "                        ```python",
    "                        x = 1",
    "                        ```",
  ]);
  assert.deepEqual(log.report("aaa111", "implement: ok · 9 s, 1.2k tokens, $0.01", t + 9000),
    ["[0:09 default] implement: ok  (so far: 1.2k tokens, $0.01)"]);
  assert.deepEqual(log.report("aaa111", "review: ok (cached) · 9 s, 1.2k tokens, $0.01", t + 9500),
    ["[0:09 default] review: ok (cached)"], "nothing more spent: not said again");
  assert.deepEqual(log.end("aaa111", "default: ok, 1 iteration, 0 findings, 1 file changed", t + 75_000),
    ["[1:15 default] ended: default: ok, 1 iteration, 0 findings, 1 file changed (1.2k tokens, $0.01)"]);
  assert.deepEqual(log.report("aaa111", "late", t), [], "an ended run logs nothing more");
  assert.deepEqual(log.report("unknown", "x", t), []);
});

test("usage and elapsed time", () => {
  assert.deepEqual(spentIn("review: ok"), { text: "review: ok", spent: "" });
  assert.deepEqual(spentIn("review: ok · 3 s"), { text: "review: ok", spent: "" });
  assert.deepEqual(spentIn("refine: ok · 3 s of 10 min, ~3.2k of 400k tokens, $0.40 of $2.00"),
    { text: "refine: ok", spent: "~3.2k of 400k tokens, $0.40 of $2.00" });
  assert.equal(elapsed(0), "0:00");
  assert.equal(elapsed(61_500), "1:01");
  assert.equal(elapsed(3_723_000), "1:02:03");
});
