#!/usr/bin/env node
// `npm run testdata`: fetches the public conformance data the tests read (scripts/testdata-manifest.json:
// pinned files of other projects, each at a fixed commit) and checks the sha256 of every file.
// Usage: fetch-testdata.mjs [--dest DIR]
//   DIR defaults to MAILWARD_TESTDATA, else ../shared/testdata beside the checkout.
//   MAILWARD_TESTDATA_SOURCE replaces https://raw.githubusercontent.com (a mirror, http:// or
//   file://, laid out as REPO/COMMIT/PATH like GitHub's raw file server).
// Files already present with the right sha256 are kept; a file whose sha256 differs is refused and
// not written, and the script exits 1 naming it.
import { Buffer } from 'node:buffer';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkoutRoot, manifest, testdataDir } from './testdata-location.mjs';

const args = process.argv.slice(2);
let dest = testdataDir();
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--dest' && args[i + 1]) dest = resolve(args[++i]);
  else {
    console.error(`fetch-testdata: unknown argument ${args[i]}; usage: fetch-testdata.mjs [--dest DIR]`);
    process.exit(2);
  }
}
const source = (process.env.MAILWARD_TESTDATA_SOURCE || 'https://raw.githubusercontent.com').replace(/\/+$/, '');
const PARALLEL = 8;
const TIMEOUT_MS = 60_000;

const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');

function readIfPresent(path) {
  try {
    return readFileSync(path);
  } catch {
    return undefined;
  }
}

/** The file's URL at its pinned commit; each path segment encoded (sample names hold spaces, !, [ ]). */
function originUrl(entry) {
  const path = entry.path.split('/').map(encodeURIComponent).join('/');
  return `${source}/${entry.repo}/${entry.commit}/${path}`;
}

async function download(url) {
  if (url.startsWith('file:')) return readFileSync(fileURLToPath(url));
  const response = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS) });
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  return Buffer.from(await response.arrayBuffer());
}

const counts = { fetched: 0, present: 0 };
const failures = [];
let unreachable;

async function fetchOne(entry) {
  const target = join(dest, entry.dest);
  const existing = readIfPresent(target);
  if (existing && sha256(existing) === entry.sha256) {
    counts.present++;
    return;
  }
  const url = originUrl(entry);
  let bytes;
  try {
    bytes = await download(url);
  } catch (error) {
    const reason = error.cause?.message ?? error.message;
    // No answer at all (DNS, refused, timeout) will not get better for the next 100 files: stop.
    if (!url.startsWith('file:') && !error.message.startsWith('HTTP ')) unreachable ??= reason;
    else failures.push(`${entry.dest}: could not fetch ${url}: ${reason}`);
    return;
  }
  const actual = sha256(bytes);
  if (actual !== entry.sha256) {
    failures.push(`${entry.dest}: refused: sha256 ${actual} from ${url}, the manifest pins ${entry.sha256}`);
    return;
  }
  mkdirSync(dirname(target), { recursive: true });
  // Written beside the target, then renamed: an interrupted run leaves no half file behind.
  writeFileSync(`${target}.partial`, bytes);
  renameSync(`${target}.partial`, target);
  counts.fetched++;
}

const queue = [...manifest];
await Promise.all(
  Array.from({ length: PARALLEL }, async () => {
    for (let entry = queue.shift(); entry && !unreachable; entry = queue.shift()) await fetchOne(entry);
  }),
);
mkdirSync(dest, { recursive: true });
writeFileSync(join(dest, 'MANIFEST.json'), readFileSync(join(checkoutRoot, 'scripts', 'testdata-manifest.json')));

if (unreachable) {
  console.error(
    `fetch-testdata: could not reach ${source} (${unreachable}); ${counts.fetched + counts.present} of ` +
      `${manifest.length} files are in ${dest}. Check the network, or set MAILWARD_TESTDATA_SOURCE to a ` +
      `mirror laid out as REPO/COMMIT/PATH.`,
  );
  process.exit(1);
}
if (failures.length > 0) {
  console.error(`fetch-testdata: ${failures.length} of ${manifest.length} files not fetched into ${dest}:`);
  for (const failure of failures) console.error(`  ${failure}`);
  process.exit(1);
}
console.log(`test data in ${dest}: ${counts.fetched} files fetched, ${counts.present} already there (sha256 checked)`);
