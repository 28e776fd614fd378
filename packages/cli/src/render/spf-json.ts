import type { SpfCheckResult } from '@mailward/core';
import type { SpfReport } from '../commands/spf.js';

/**
 * The documented JSON of `mailward spf --json` (see README): the MAIL FROM check at the top level,
 * the HELO check under `helo`, and the Received-SPF field.
 */
export function renderSpfJson(report: SpfReport): string {
  const body = {
    ...checkJson(report.mailFrom),
    ...(report.helo ? { helo: checkJson(report.helo) } : {}),
    receivedSpf: report.receivedSpf,
  };
  return `${JSON.stringify(body, null, 2)}\n`;
}

function checkJson(check: SpfCheckResult): Record<string, unknown> {
  return {
    result: check.result,
    reason: check.reason,
    explanation: check.explanation ?? null,
    identity: check.identity,
    domain: check.domain,
    mechanism: check.mechanism ?? null,
    record: check.record ?? null,
    lookups: check.lookups,
    voidLookups: check.voidLookups,
    trace: check.trace.map((entry) => ({
      name: entry.name,
      type: entry.type,
      outcome: entry.outcome,
      detail: entry.detail,
      records: entry.records,
      durationMs: Math.round(entry.durationMs * 100) / 100,
    })),
  };
}
