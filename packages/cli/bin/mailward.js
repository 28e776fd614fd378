#!/usr/bin/env node
// The `mailward` command as npm links it. It is a committed file, not dist/src/main.js itself,
// because npm links no bin whose file is missing: in a checkout, `npm ci` runs before the first
// build, and `npx mailward` would then find no command at all.
import { existsSync } from 'node:fs';
import { URL, fileURLToPath } from 'node:url';

const main = new URL('../dist/src/main.js', import.meta.url);
if (existsSync(main)) {
  await import(main.href);
} else {
  console.error(`mailward: ${fileURLToPath(main)} does not exist: run \`npm run build\` in the checkout first`);
  process.exitCode = 1;
}
