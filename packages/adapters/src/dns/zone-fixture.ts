import { describeSystemError } from '../files/system-errors.js';
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import type { Zone } from '@mailward/core';
import { parseZone } from '@mailward/core';

export type ZoneFixtureResult = { ok: true; zone: Zone } | { ok: false; reason: string };

/** Maximum fixture file size: a zone fixture is a hand-written test file, not a zone dump. */
const MAX_FIXTURE_BYTES = 16 * 1024 * 1024;

/**
 * Reads a declarative zone fixture (YAML or JSON; JSON is YAML) for the in-memory resolver.
 * The format is documented in docs/dns-fixture.md.
 */
export async function readZoneFixture(path: string): Promise<ZoneFixtureResult> {
  let text: string;
  try {
    const bytes = await readFile(path);
    if (bytes.length > MAX_FIXTURE_BYTES)
      return { ok: false, reason: `${path}: larger than ${MAX_FIXTURE_BYTES} bytes` };
    text = bytes.toString('utf8');
  } catch (error) {
    return {
      ok: false,
      reason: describeSystemError(error, path) ?? `cannot read ${path}: ${(error as Error).message}`,
    };
  }
  let data: unknown;
  try {
    data = parseYaml(text, { maxAliasCount: 100 });
  } catch (error) {
    return { ok: false, reason: `${path}: not valid YAML or JSON: ${(error as Error).message}` };
  }
  const parsed = parseZone(data);
  if (!parsed.ok) return { ok: false, reason: `${path}: ${parsed.errors.slice(0, 10).join('; ')}` };
  return { ok: true, zone: parsed.zone };
}
