/** The exp= modifier, RFC 7208 §6.2. */
import type { EvaluationState } from './context.js';
import type { SpfRecord } from './record.js';
import { domainNameProblem } from '../dns/name.js';
import { expandDomain } from './check.js';
import { macroContext } from './context.js';
import { expandMacroString, parseMacroString } from './macro.js';
import { validatedNameFor } from './ptr.js';

/**
 * The explanation for a fail: the expanded TXT record named by exp=, or a default text. Per §6.2,
 * any problem (DNS error, no record, several records, a syntax error) means the default is used.
 */
export async function explain(
  record: SpfRecord,
  domain: string,
  state: EvaluationState,
): Promise<{ explanation: string; explanationSource: 'exp' | 'default' }> {
  const fallback = { explanation: defaultExplanation(domain, state), explanationSource: 'default' as const };
  if (!record.exp) return fallback;
  const target = await expandDomain(record.exp, domain, state);
  if (domainNameProblem(target)) return fallback;
  const answer = await state.resolver.lookup(target, 'TXT');
  if (answer.kind !== 'answer' || answer.records.length !== 1) return fallback;
  const text = (answer.records[0] as { text: string }).text;
  if (/[^\x20-\x7e]/.test(text)) return fallback;
  const macro = parseMacroString(text, { explanation: true });
  if (!macro.ok) return fallback;
  const explanation = await expandMacroString(
    macro.value,
    macroContext(state, domain, () => validatedNameFor(state, domain)),
  );
  if (explanation.trim() === '') return fallback;
  return { explanation, explanationSource: 'exp' };
}

export function defaultExplanation(domain: string, state: EvaluationState): string {
  return `${domain} does not designate ${state.ipText} as permitted sender of mail from ${state.sender}`;
}
