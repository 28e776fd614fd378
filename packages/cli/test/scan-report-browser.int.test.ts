/**
 * The page of `mailward scan report --html` in a real browser (Debian's Chromium, driven by
 * playwright-core), served over loopback HTTP with a strict Content-Security-Policy: the script and
 * style sheet beside the page load, nothing is refused by the policy and nothing logs an error; the
 * domain table lists every domain scanned, sorts on a click or on Enter/Space from the keyboard
 * (reversing on the second time) and filters on the text box and the status/grade menus; at a
 * phone's 390 px the page itself does not scroll sideways (the wide table scrolls in its own box).
 * The results file comes from the built CLI scanning a zone fixture, as a user would make it.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';

const MAIN = fileURLToPath(new URL('../src/main.js', import.meta.url));
const CHROMIUM = '/usr/bin/chromium';
const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'";

// Domains of every kind a scan reports, with grades A, B, C and F (docs/examples/scan-zone.yaml has
// two graded domains, both F: too few to see a sort order). Listed out of alphabetical order.
const ZONE = `mx.mail.test:
  - A: 192.0.2.25
25.2.0.192.in-addr.arpa:
  - PTR: mx.mail.test
alpha.test:
  - TXT: 'v=spf1 mx -all'
  - MX: [10, mx.mail.test]
_dmarc.alpha.test:
  - TXT: 'v=DMARC1; p=reject; rua=mailto:d@alpha.test'
selector1._domainkey.alpha.test:
  - TXT: 'v=DKIM1; k=ed25519; p=qn5BxBNZe4Pz7foDOEqSMOCJhb62XjsW2eXN8m87TUg='
_mta-sts.alpha.test:
  - TXT: 'v=STSv1; id=2026112801'
_smtp._tls.alpha.test:
  - TXT: 'v=TLSRPTv1; rua=mailto:t@alpha.test'
bravo.test:
  - TXT: 'v=spf1 mx ~all'
  - MX: [10, mx.mail.test]
_dmarc.bravo.test:
  - TXT: 'v=DMARC1; p=quarantine; rua=mailto:d@bravo.test'
selector1._domainkey.bravo.test:
  - TXT: 'v=DKIM1; k=ed25519; p=qn5BxBNZe4Pz7foDOEqSMOCJhb62XjsW2eXN8m87TUg='
charlie.test:
  - TXT: 'v=spf1 mx ?all'
  - MX: [10, mx.mail.test]
_dmarc.charlie.test:
  - TXT: 'v=DMARC1; p=none'
delta.test:
  - TXT: 'v=spf1 +all'
  - MX: [10, mx.mail.test]
echo.test:
  - REFUSED
`;
const LIST = ['delta.test', 'alpha.test', 'echo.test', 'charlie.test', 'foxtrot.test', 'bravo.test'];

interface ScannedDomain {
  readonly domain: string;
  readonly status: string;
  readonly grade: string | null;
}

const dir = mkdtempSync(join(tmpdir(), 'mailward-scan-browser-'));
let scanned: ScannedDomain[] = [];
let server: Server;
let origin = '';
let browser: Browser;
/** Every path the browser asked the server for. */
const requested = new Set<string>();

function mailward(args: readonly string[]): string {
  return execFileSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', timeout: 60_000 });
}

/** Serves the page and its two files, each with the strict policy, and nothing else. */
function serve(): Promise<Server> {
  const types: Record<string, string> = {
    '/page.html': 'text/html; charset=utf-8',
    '/mailward-scan-report.js': 'text/javascript; charset=utf-8',
    '/mailward-scan-report.css': 'text/css; charset=utf-8',
  };
  const httpServer = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    requested.add(path);
    const type = types[path];
    const headers = { 'Content-Security-Policy': CSP, 'X-Content-Type-Options': 'nosniff' };
    if (type === undefined) {
      response.writeHead(404, { ...headers, 'Content-Type': 'text/plain' }).end('not found');
      return;
    }
    response.writeHead(200, { ...headers, 'Content-Type': type }).end(readFileSync(join(dir, path.slice(1))));
  });
  return new Promise((resolve) => httpServer.listen(0, '127.0.0.1', () => resolve(httpServer)));
}

before(async () => {
  // No skip: .ci/run installs the package, so a missing browser is a broken machine, said plainly.
  assert.ok(
    existsSync(CHROMIUM),
    `${CHROMIUM} is missing: install Debian's chromium package (apt-get install chromium; .ci/run does)`,
  );
  writeFileSync(join(dir, 'zone.yaml'), ZONE);
  // A list name without a place to break a line: the page shows it in the scan runs.
  const list = join(dir, 'mailward_survey_of_all_customer_domains_december_2026.txt');
  writeFileSync(list, `${LIST.join('\n')}\n`);
  const db = join(dir, 'results.db');
  const ndjson = join(dir, 'results.ndjson');
  mailward(['scan', list, '--db', db, '--out', ndjson, '--dns-fixture', join(dir, 'zone.yaml')]);
  scanned = readFileSync(ndjson, 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as ScannedDomain);
  mailward(['scan', 'report', db, '--html', join(dir, 'page.html')]);
  server = await serve();
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'], timeout: 20_000 });
});

after(async () => {
  await browser?.close();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  rmSync(dir, { recursive: true, force: true });
});

/** Every console error, uncaught exception and CSP violation of a page, as one line each. */
interface Problems {
  readonly list: string[];
  readonly violations: () => Promise<string[]>;
}

// Installed before any script of the page runs; CSP violations are events on the document.
const RECORD_VIOLATIONS = `window.__violations = [];
document.addEventListener('securitypolicyviolation', function (e) {
  window.__violations.push(e.violatedDirective + ' refused ' + (e.blockedURI || 'inline') + ' at ' + e.sourceFile + ':' + e.lineNumber);
});`;

/** A desktop window, or a phone (which lays a page out 980 px wide unless the page says otherwise). */
async function open(device: 'desktop' | 'phone' = 'desktop'): Promise<{ page: Page; problems: Problems }> {
  const context = await browser.newContext(
    device === 'phone'
      ? { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 3 }
      : { viewport: { width: 1280, height: 800 } },
  );
  const page = await context.newPage();
  const list: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning')
      list.push(`console ${message.type()}: ${message.text()}`);
  });
  page.on('pageerror', (error) => list.push(`uncaught: ${error.message}`));
  page.on('requestfailed', (request) => list.push(`request failed: ${request.url()}`));
  await page.addInitScript({ content: RECORD_VIOLATIONS });
  await page.goto(`${origin}/page.html`, { waitUntil: 'load' });
  return { page, problems: { list, violations: () => page.evaluate<string[]>('window.__violations') } };
}

async function domainsShown(page: Page): Promise<string[]> {
  return page.locator('#domains tbody tr:visible td:first-child').allTextContents();
}

async function column(page: Page, index: number): Promise<string[]> {
  return page.locator(`#domains tbody tr:visible td:nth-child(${index + 1})`).allTextContents();
}

async function assertClean(problems: Problems): Promise<void> {
  assert.deepEqual(await problems.violations(), [], 'Content-Security-Policy violations');
  assert.deepEqual(problems.list, [], 'console errors, uncaught exceptions or failed requests');
}

const byText = (a: string, b: string) => a.localeCompare(b);

test('the scan made domains of every kind, with several grades', () => {
  assert.deepEqual(scanned.map((d) => d.domain).sort(), [...LIST].sort());
  assert.deepEqual(new Set(scanned.map((d) => d.status)), new Set(['ok', 'nxdomain', 'dns-failed']));
  assert.ok(new Set(scanned.map((d) => d.grade).filter((g) => g !== null)).size >= 3, JSON.stringify(scanned));
});

test('under the strict policy the script and style sheet run, nothing is refused, and every domain is listed', async () => {
  const { page, problems } = await open();
  // The script unhides the controls: proof that it ran.
  await page.locator('#controls').waitFor({ state: 'visible', timeout: 5_000 });
  assert.deepEqual((await domainsShown(page)).sort(), [...LIST].sort());
  assert.equal(await page.locator('#shown').textContent(), String(LIST.length));
  // The style sheet applied: a grade-F cell is coloured.
  const background = await page.evaluate<string>(
    "getComputedStyle(document.querySelector('#domains td.grade-F')).backgroundColor",
  );
  assert.equal(background, 'rgb(255, 205, 210)');
  await assertClean(problems);
  await page.context().close();
});

test('the policy is really enforced and the test sees a violation (control)', async () => {
  const { page, problems } = await open();
  await page.evaluate(
    `(() => { const s = document.createElement('script'); s.textContent = 'window.__ran = 1'; document.head.appendChild(s); })()`,
  );
  await page.waitForFunction('window.__violations.length > 0', undefined, { timeout: 5_000 });
  assert.equal(await page.evaluate('window.__ran'), undefined);
  assert.match((await problems.violations())[0] ?? '', /^script-src/);
  await page.context().close();
});

test('a click on a column title sorts the rows; a second click reverses them', async () => {
  const { page, problems } = await open();
  const header = (title: string) => page.locator('#domains thead th', { hasText: title }).first();
  const domainTitle = header('domain');
  assert.equal(await domainTitle.getAttribute('aria-sort'), null);
  await domainTitle.locator('button').click();
  assert.deepEqual(await domainsShown(page), [...LIST].sort(byText));
  assert.equal(await domainTitle.getAttribute('aria-sort'), 'ascending');
  // The arrow shows the order; the column's accessible name stays its title (aria-sort says the order).
  const arrow = await page.evaluate<string>(
    "getComputedStyle(document.querySelector('#domains th[aria-sort] button'), '::after').content",
  );
  assert.match(arrow, /▲/);
  assert.equal(await page.getByRole('columnheader', { name: 'domain', exact: true }).count(), 1);
  assert.equal(await page.getByRole('button', { name: 'domain', exact: true }).count(), 1);
  await domainTitle.locator('button').click();
  assert.deepEqual(await domainsShown(page), [...LIST].sort(byText).reverse());
  assert.equal(await domainTitle.getAttribute('aria-sort'), 'descending');

  // Grades A to F, then the domains without a grade (do not exist, could not be checked).
  const gradeTitle = page.locator('#domains thead th').nth(2);
  await gradeTitle.locator('button').click();
  assert.equal(await domainTitle.getAttribute('aria-sort'), null, 'only the sorted column says so');
  assert.equal(await gradeTitle.getAttribute('aria-sort'), 'ascending');
  const graded = scanned.filter((d) => d.grade !== null).map((d) => d.grade as string);
  const expected = [...graded.sort(byText), ...scanned.filter((d) => d.grade === null).map(() => 'none')];
  assert.deepEqual(await column(page, 2), expected);
  await gradeTitle.locator('button').click();
  assert.deepEqual(await column(page, 2), [...expected].reverse());

  // A number column sorts by value.
  const errors = page.locator('#domains thead th').nth(12);
  assert.equal(await errors.textContent(), 'errors');
  await errors.locator('button').click();
  const counts = (await column(page, 12)).map(Number);
  assert.deepEqual(
    counts,
    [...counts].sort((a, b) => a - b),
  );
  assert.ok(new Set(counts).size > 1, 'the error counts differ, so the order says something');
  await assertClean(problems);
  await page.context().close();
});

test('a column title is reached with Tab and sorts with Enter and Space', async () => {
  const { page, problems } = await open();
  const target = '#domains thead th:first-child button';
  let reached = false;
  for (let i = 0; i < 20 && !reached; i += 1) {
    await page.keyboard.press('Tab');
    reached = await page.evaluate<boolean>(`document.activeElement === document.querySelector('${target}')`);
  }
  assert.ok(reached, 'Tab reaches the domain column title');
  const th = page.locator('#domains thead th').first();
  await page.keyboard.press('Enter');
  assert.equal(await th.getAttribute('aria-sort'), 'ascending');
  assert.deepEqual(await domainsShown(page), [...LIST].sort(byText));
  await page.keyboard.press('Space');
  assert.equal(await th.getAttribute('aria-sort'), 'descending');
  assert.deepEqual(await domainsShown(page), [...LIST].sort(byText).reverse());
  await assertClean(problems);
  await page.context().close();
});

test('the text box and the status and grade menus leave only the matching rows', async () => {
  const { page, problems } = await open();
  await page.locator('#filter-text').fill('ha');
  const withHa = LIST.filter((d) => d.includes('ha'));
  assert.ok(withHa.length > 0 && withHa.length < LIST.length);
  assert.deepEqual((await domainsShown(page)).sort(), withHa.sort());
  assert.equal(await page.locator('#shown').textContent(), String(withHa.length));
  await page.locator('#filter-text').fill('NO SUCH DOMAIN');
  assert.deepEqual(await domainsShown(page), []);
  await page.locator('#filter-text').fill('');

  await page.locator('#filter-status').selectOption('nxdomain');
  assert.deepEqual(
    await domainsShown(page),
    scanned.filter((d) => d.status === 'nxdomain').map((d) => d.domain),
  );
  await page.locator('#filter-status').selectOption('');
  const grade = scanned.find((d) => d.grade !== null)?.grade as string;
  await page.locator('#filter-grade').selectOption(grade);
  assert.deepEqual(
    (await domainsShown(page)).sort(),
    scanned
      .filter((d) => d.grade === grade)
      .map((d) => d.domain)
      .sort(),
  );
  // Sorting keeps the filter.
  await page.locator('#domains thead th button').first().click();
  assert.deepEqual(
    await domainsShown(page),
    scanned
      .filter((d) => d.grade === grade)
      .map((d) => d.domain)
      .sort(byText),
  );
  await assertClean(problems);
  await page.context().close();
});

test('at 390 px the page does not scroll sideways; the table scrolls in its own box', async () => {
  const { page, problems } = await open('phone');
  await page.locator('#controls').waitFor({ state: 'visible', timeout: 5_000 });
  // A phone shrinks a page that is too wide (or has no viewport line) until it fits, so the
  // layout viewport grows past 390 px as well as the page.
  const layout = await page.evaluate<{ page: number; viewport: number }>(
    '({ page: document.scrollingElement.scrollWidth, viewport: window.innerWidth })',
  );
  assert.deepEqual(layout, { page: 390, viewport: 390 }, 'page and layout viewport widths at a 390 px phone');
  const table = await page.evaluate<{ width: number; box: number; overflow: string }>(`(() => {
    const table = document.getElementById('domains');
    const box = table.parentElement;
    return { width: table.scrollWidth, box: box.clientWidth, overflow: getComputedStyle(box).overflowX };
  })()`);
  assert.ok(table.width > table.box, 'the table is wider than the phone: the check would see an overflow');
  assert.equal(table.overflow, 'auto');
  await assertClean(problems);
  await page.context().close();
});

test('the browser asked the server for the page and its two files only (no favicon, nothing else)', () => {
  assert.deepEqual([...requested].sort(), ['/mailward-scan-report.css', '/mailward-scan-report.js', '/page.html']);
});
