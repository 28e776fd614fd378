import type { DkimVerdict, DkimVerification } from '@mailward/core';

/** The documented JSON of `mailward dkim verify --json` (see README). */
export function renderDkimVerifyJson(verification: DkimVerification): string {
  return `${JSON.stringify({ signatures: verification.signatures.map(verdictJson) }, null, 2)}\n`;
}

function verdictJson(verdict: DkimVerdict): Record<string, unknown> {
  return {
    result: verdict.result,
    reason: verdict.reason,
    domain: verdict.domain ?? null,
    selector: verdict.selector ?? null,
    algorithm: verdict.algorithm ?? null,
    identity: verdict.identity ?? null,
    keyType: verdict.key?.type ?? null,
    keyBits: verdict.key?.bits ?? null,
    testing: verdict.key?.testing ?? null,
    bodyLength: verdict.bodyLength ?? null,
  };
}

export function renderDkimVerifyText(verification: DkimVerification): string {
  if (verification.signatures.length === 0) return 'no DKIM-Signature fields: dkim=none\n';
  const lines = verification.signatures.map((verdict, i) => {
    const who =
      verdict.domain === undefined ? '(unparsed signature)' : `d=${verdict.domain} s=${verdict.selector ?? '?'}`;
    const algorithm = verdict.algorithm === undefined ? '' : ` a=${verdict.algorithm}`;
    const key = verdict.key === undefined ? '' : ` (${verdict.key.type} ${verdict.key.bits ?? '?'}-bit key)`;
    return `#${i + 1} dkim=${verdict.result} ${who}${algorithm}${key}\n    ${verdict.reason}`;
  });
  return `${lines.join('\n')}\n`;
}
