/**
 * Loads the signing keys of the settings (PEM files) and turns the signing rules into loaded
 * rules. Every error names the key (domain:selector) and the file, so a bad start or reload
 * says which one to fix.
 */
import { readPrivateKeyFile } from '@mailward/adapters';
import { DkimSigner } from '@mailward/core';
import type { SigningKeySettings, SigningRuleSettings } from '../settings.js';
import { fromPatternProblem, type LoadedSigningKey, type LoadedSigningRule } from '../milter/signing.js';

export type LoadedSigning = { ok: true; rules: LoadedSigningRule[] } | { ok: false; reason: string };

/** The ARC sealing key (settings.arcSeal), checked like a signing key. */
export async function loadArcSealKey(
  key: SigningKeySettings,
): Promise<{ ok: true; key: LoadedSigningKey } | { ok: false; reason: string }> {
  return loadKey(key, 'ARC sealing key');
}

async function loadKey(
  key: SigningKeySettings,
  what: string,
): Promise<{ ok: true; key: LoadedSigningKey } | { ok: false; reason: string }> {
  const id = `${key.domain}:${key.selector}`;
  const read = await readPrivateKeyFile(key.keyFile);
  if (!read.ok) return { ok: false, reason: `${what} ${id}: ${read.reason}` };
  const signingKey = { domain: key.domain, selector: key.selector, privateKey: read.key };
  try {
    // The signer checks d=, s= and the key (RSA of at least 1024 bits, RFC 8301 §3.2) when it is
    // made: done here, a bad key fails the start or the reload instead of every message.
    new DkimSigner([], [signingKey], { clock: { now: () => 0 } });
  } catch (error) {
    return { ok: false, reason: `${what} ${id} (${key.keyFile}): ${(error as Error).message}` };
  }
  return { ok: true, key: signingKey };
}

export async function loadSigning(signing: {
  readonly keys: readonly SigningKeySettings[];
  readonly rules: readonly SigningRuleSettings[];
}): Promise<LoadedSigning> {
  const loaded = new Map<string, LoadedSigningKey>();
  for (const key of signing.keys) {
    const loadedKey = await loadKey(key, 'signing key');
    if (!loadedKey.ok) return loadedKey;
    loaded.set(`${key.domain}:${key.selector}`.toLowerCase(), loadedKey.key);
  }
  const rules: LoadedSigningRule[] = [];
  for (const rule of signing.rules) {
    const problem = fromPatternProblem(rule.from);
    if (problem !== undefined) return { ok: false, reason: `signing rule: ${problem}` };
    const keys: LoadedSigningKey[] = [];
    for (const id of rule.keys) {
      const key = loaded.get(id.toLowerCase());
      if (key === undefined) return { ok: false, reason: `signing rule for ${rule.from}: no key ${id} among the keys` };
      keys.push(key);
    }
    if (keys.length === 0) return { ok: false, reason: `signing rule for ${rule.from}: no keys` };
    rules.push({ from: rule.from, keys });
  }
  return { ok: true, rules };
}
