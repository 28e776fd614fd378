/** Reads the ValiMail ARC test suite (YAML, several scenarios per file) from the shared test data. */
import { readFileSync } from 'node:fs';
import assert from 'node:assert/strict';
import { parseAllDocuments } from 'yaml';
import type { Resolver } from '../../src/index.js';
import { MemoryResolver, parseZone } from '../../src/index.js';
import { testdataPath } from './testdata.js';

export interface ArcSuiteTest {
  readonly scenario: string;
  readonly name: string;
  readonly description: string;
  readonly message: string;
  /** Validation suite: the expected cv ("Pass", "Fail", "None", or "" for none). */
  readonly cv?: string;
  /** Signing suite fields. */
  readonly t?: number;
  readonly sigHeaders?: string;
  readonly srvId?: string;
  readonly AS?: string;
  readonly AMS?: string;
  readonly AAR?: string;
}

export interface ArcScenario {
  readonly description: string;
  readonly tests: ArcSuiteTest[];
  readonly txtRecords: Record<string, string>;
  readonly domain?: string;
  readonly selector?: string;
  readonly privateKey?: string;
}

export function loadArcSuite(file: string): ArcScenario[] {
  const text = readFileSync(testdataPath('arc_test_suite', 'tests', file), 'utf8');
  return parseAllDocuments(text).map((document) => {
    const raw = document.toJS() as Record<string, unknown>;
    const description = String(raw['description'] ?? '');
    const tests = Object.entries((raw['tests'] ?? {}) as Record<string, Record<string, unknown>>).map(([name, t]) => ({
      scenario: description,
      name,
      description: String(t['description'] ?? ''),
      message: String(t['message'] ?? ''),
      ...(t['cv'] !== undefined && { cv: t['cv'] === null ? '' : String(t['cv']) }),
      ...(t['t'] !== undefined && { t: Number(t['t']) }),
      ...(t['sig-headers'] !== undefined && { sigHeaders: String(t['sig-headers']) }),
      ...(t['srv-id'] !== undefined && { srvId: String(t['srv-id']) }),
      ...(t['AS'] !== undefined && { AS: String(t['AS']) }),
      ...(t['AMS'] !== undefined && { AMS: String(t['AMS']) }),
      ...(t['AAR'] !== undefined && { AAR: String(t['AAR']) }),
    }));
    const records = (raw['txt-records'] ?? raw['txt_records'] ?? {}) as Record<string, string>;
    return {
      description,
      tests,
      txtRecords: Object.fromEntries(
        Object.entries(records).map(([name, value]) => [name, String(value).replace(/\s*\n\s*/g, '')]),
      ),
      ...(raw['domain'] !== undefined && { domain: String(raw['domain']) }),
      ...(raw['sel'] !== undefined && { selector: String(raw['sel']) }),
      ...(raw['privatekey'] !== undefined && { privateKey: String(raw['privatekey']) }),
    };
  });
}

/** A resolver serving a scenario's txt-records. */
export function scenarioResolver(scenario: ArcScenario): Resolver {
  const zone = parseZone(
    Object.fromEntries(Object.entries(scenario.txtRecords).map(([name, value]) => [name, [{ TXT: value }]])),
  );
  assert.ok(zone.ok, zone.ok ? '' : zone.errors.join('; '));
  return new MemoryResolver(zone.zone);
}
