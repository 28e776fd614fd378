/**
 * Loads the OpenSPF RFC 7208 test suite (YAML, one document per scenario) into scenarios whose
 * zone data is in the declarative zone format of @mailward/core.
 *
 * The suite's conventions, as its own drivers (pyspf's testspf.py) apply them:
 * - type SPF (99) records are copied into TXT when the name lists no TXT entry at all
 *   ("TXT: NONE" counts as an entry and means "no TXT record");
 * - TIMEOUT makes every query at the name time out, except for types with records listed before it
 *   (the copied TXT records are appended after it, so they do time out).
 */
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { testdataPath } from './testdata.js';

export interface SuiteTest {
  readonly name: string;
  readonly description?: string;
  readonly spec?: string | string[];
  readonly helo: string;
  readonly host: string;
  readonly mailfrom: string;
  /** Accepted results (a few tests accept two). */
  readonly results: readonly string[];
  readonly explanation?: string;
}

export interface SuiteScenario {
  readonly description: string;
  readonly tests: readonly SuiteTest[];
  /** Zone in core's parseZone() input format. */
  readonly zone: Record<string, unknown[]>;
}

export function loadOpenSpfSuite(path = testdataPath('pyspf', 'test', 'rfc7208-tests.yml')): SuiteScenario[] {
  const documents = parseAllDocuments(readFileSync(path, 'utf8'));
  return documents.map((document) => {
    const data = document.toJS() as {
      description: string;
      tests: Record<string, Record<string, unknown>>;
      zonedata?: Record<string, unknown[]>;
    };
    const tests = Object.entries(data.tests).map(([name, test]): SuiteTest => {
      const result = test['result'] as string | string[];
      return {
        name,
        ...(typeof test['description'] === 'string' ? { description: test['description'] } : {}),
        helo: String(test['helo'] ?? ''),
        host: String(test['host']),
        mailfrom: String(test['mailfrom'] ?? ''),
        results: Array.isArray(result) ? result : [result],
        ...(typeof test['explanation'] === 'string' ? { explanation: test['explanation'] } : {}),
      };
    });
    return { description: data.description, tests, zone: convertZone(data.zonedata ?? {}) };
  });
}

function convertZone(zonedata: Record<string, unknown[]>): Record<string, unknown[]> {
  const zone: Record<string, unknown[]> = {};
  for (const [name, entries] of Object.entries(zonedata)) {
    const out: unknown[] = [];
    const spf: unknown[] = [];
    let hasTxtEntry = false;
    for (const entry of entries ?? []) {
      if (typeof entry === 'string') {
        out.push(entry);
        continue;
      }
      const [type, value] = Object.entries(entry as Record<string, unknown>)[0] as [string, unknown];
      if (type === 'SPF') {
        if (value !== 'NONE') spf.push({ TXT: value });
      } else {
        if (type === 'TXT') hasTxtEntry = true;
        out.push({ [type]: value });
      }
    }
    if (!hasTxtEntry) out.push(...spf);
    zone[name] = out;
  }
  return zone;
}
