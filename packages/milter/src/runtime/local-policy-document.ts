/**
 * Reads a DMARC local-policy file (YAML or JSON, docs/dmarc-local-policy.md) as the plain document
 * MilterSettings holds (`inbound.localPolicy`), checked once by parseLocalPolicy so a bad file is
 * reported at start or reload, naming the file.
 */
import { Buffer } from 'node:buffer';
import { parse as parseYaml } from 'yaml';
import { parseLocalPolicy } from '@mailward/core';
import { readFileLimited } from '@mailward/adapters';

const MAX_LOCAL_POLICY_BYTES = 1024 * 1024;

export async function readLocalPolicyDocument(
  path: string,
): Promise<{ ok: true; document: unknown } | { ok: false; reason: string }> {
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
  return parsed.ok ? { ok: true, document } : { ok: false, reason: `${path}: ${parsed.reason}` };
}
