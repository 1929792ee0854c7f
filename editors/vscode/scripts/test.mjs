// Unit tests: each test/*.test.ts bundled by esbuild with `vscode` aliased to the fake, then
// run by node's built-in test runner.
import { spawnSync } from "node:child_process";
import { readdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import { build } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = join(root, "dist", "test");
rmSync(out, { recursive: true, force: true });
const tests = readdirSync(join(root, "test")).filter((name) => name.endsWith(".test.ts"));
await build({
  entryPoints: tests.map((name) => join(root, "test", name)),
  bundle: true,
  platform: "node",
  format: "cjs",
  target: "node20",
  outdir: out,
  sourcemap: "inline",
  alias: { vscode: join(root, "test", "fake-vscode.ts") },
  logLevel: "warning",
});
const files = tests.map((name) => join(out, name.replace(/\.ts$/, ".js")));
const result = spawnSync(process.execPath, ["--enable-source-maps", "--test", "--test-reporter=spec", ...files], { stdio: "inherit" });
process.exit(result.status ?? 1);
