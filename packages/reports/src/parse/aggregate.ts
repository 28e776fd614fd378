/**
 * DMARC aggregate reports: RFC 7489 Appendix C, RFC 9990 (namespace
 * urn:ietf:params:xml:ns:dmarc-2.0: np, testing, discovery_method, generator, human_result) and
 * the pre-RFC drafts. Streaming (see XmlChildStream), tolerant of what real reporters send (token
 * case, stray elements, missing optional fields, decimal epoch times, broken XML or UTF-8
 * recovered where safe), with every tolerance kept as a warning on the report. Alignment is
 * recomputed from the reported authentication results with the public suffix list, so ingest
 * needs no DNS; the reporter's own verdict is kept beside it.
 */
import type { AggregateReport, ParseResult } from '../model.js';
import { XmlChildStream, XmlProblem } from './xml-elements.js';
import { repairAggregateXml } from './xml-repair.js';
import type { AggregateParseOptions } from './aggregate-builder.js';
import { AggregateBuilder, ReportProblem } from './aggregate-builder.js';

const CHUNK_CHARS = 1 << 20;

/** Parses one aggregate report from its XML bytes (already unpacked). */
export function parseAggregateReport(
  xml: Uint8Array,
  options: AggregateParseOptions = {},
): ParseResult<AggregateReport> {
  if (xml.length === 0 || isBlank(xml)) return { ok: false, reason: 'empty document: no aggregate report' };
  const strict = decodeStrict(xml);
  let firstReason = 'not valid UTF-8';
  if (strict !== undefined) {
    const first = parseText(strict, [], options);
    if (first.ok) return first;
    if (first.kind === 'report') return { ok: false, reason: first.reason };
    firstReason = first.reason;
  }
  // Not well-formed (or not UTF-8): repair and parse again, when small enough to hold twice.
  const limit = options.maxRepairBytes ?? 64 * 1024 * 1024;
  if (xml.length > limit) return { ok: false, reason: `${firstReason} (too large to repair: ${xml.length} bytes)` };
  options.onRestart?.();
  const warnings: string[] = [];
  const loose = new TextDecoder('utf-8', { fatal: false }).decode(xml);
  if (strict === undefined) warnings.push('invalid UTF-8 was replaced with U+FFFD');
  const repaired = repairAggregateXml(loose);
  warnings.push(`recovered from malformed XML (${firstReason})`, ...repaired.notes);
  const second = parseText(repaired.text, warnings, options);
  return second.ok ? second : { ok: false, reason: `${firstReason}; repair failed: ${second.reason}` };
}

function isBlank(bytes: Uint8Array): boolean {
  for (const byte of bytes.subarray(0, 4096))
    if (byte !== 0x20 && byte !== 0x0a && byte !== 0x0d && byte !== 0x09) return false;
  return bytes.length <= 4096;
}

function decodeStrict(bytes: Uint8Array): string | undefined {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

type TextParse =
  | { readonly ok: true; readonly report: AggregateReport }
  | { readonly ok: false; readonly kind: 'xml' | 'report'; readonly reason: string };

function parseText(text: string, initialWarnings: readonly string[], options: AggregateParseOptions): TextParse {
  const builder = new AggregateBuilder(initialWarnings, options);
  const stream = new XmlChildStream((element, root) => builder.add(element, root));
  try {
    const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
    for (let at = 0; at < body.length; at += CHUNK_CHARS) stream.write(body.slice(at, at + CHUNK_CHARS));
    const { root, notes } = stream.close();
    return { ok: true, report: builder.finish(root, notes) };
  } catch (error) {
    if (error instanceof XmlProblem) return { ok: false, kind: 'xml', reason: error.message };
    if (error instanceof ReportProblem) return { ok: false, kind: 'report', reason: error.message };
    throw error;
  }
}
