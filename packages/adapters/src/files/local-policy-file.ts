import { Buffer } from 'node:buffer';
import { parse as parseYaml } from 'yaml';
import type { LocalPolicyParse } from '@mailward/core';
import { parseLocalPolicy } from '@mailward/core';
import { readFileLimited } from './key-file.js';

/** A local-policy file is a short hand-written list of rules. */
const MAX_LOCAL_POLICY_BYTES = 1024 * 1024;

/**
 * Reads a DMARC local-policy file (YAML or JSON; JSON is YAML), validated by parseLocalPolicy.
 * The format is documented in docs/dmarc-local-policy.md.
 */
export async function readLocalPolicyFile(path: string): Promise<LocalPolicyParse> {
  const file = await readFileLimited(path, MAX_LOCAL_POLICY_BYTES);
  if (!file.ok) return file;
  let document: unknown;
  try {
    // No aliases: a policy file has no use for them, and they are the YAML "billion laughs".
    document = parseYaml(Buffer.from(file.bytes).toString('utf8'), { maxAliasCount: 0 });
  } catch (error) {
    return { ok: false, reason: `${path}: not valid YAML or JSON: ${(error as Error).message}` };
  }
  const parsed = parseLocalPolicy(document);
  return parsed.ok ? parsed : { ok: false, reason: `${path}: ${parsed.reason}` };
}
