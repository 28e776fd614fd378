/**
 * Recovery for aggregate reports that are not well-formed XML, which some reporters send: a bare
 * "<" or "&" inside a value (`<email><a@b.example></email>`, `bad<xml.net`), control characters,
 * invalid UTF-8. Only markup that names an element of the aggregate-report schemas is kept as
 * markup; every other "<" and "&" becomes text. Used only after the strict parse failed, and the
 * caller records a warning, so a repaired report is never mistaken for a clean one.
 */

/** Element names of RFC 7489 Appendix C, RFC 9990 and the pre-RFC drafts. */
const KNOWN_ELEMENTS = new Set([
  'feedback',
  'version',
  'report_metadata',
  'org_name',
  'email',
  'extra_contact_info',
  'report_id',
  'date_range',
  'begin',
  'end',
  'error',
  'generator',
  'policy_published',
  'domain',
  'adkim',
  'aspf',
  'p',
  'sp',
  'np',
  'pct',
  'fo',
  'testing',
  'discovery_method',
  'record',
  'row',
  'source_ip',
  'count',
  'policy_evaluated',
  'disposition',
  'dkim',
  'spf',
  'reason',
  'type',
  'comment',
  'identifiers',
  'envelope_to',
  'envelope_from',
  'header_from',
  'auth_results',
  'selector',
  'result',
  'human_result',
  'scope',
  'extensions',
  'extension',
]);

const TAG = /^<\/?([A-Za-z_][\w.-]*:)?([A-Za-z_][\w.-]*)(\s[^<>]*)?\/?>/;
const ENTITY = /^&(?:#[0-9]{1,7}|#x[0-9A-Fa-f]{1,6}|amp|lt|gt|quot|apos);/;
// eslint-disable-next-line no-control-regex
const INVALID_XML_CHARS = /[\x00-\x08\x0B\x0C\x0E-\x1F\uFFFE\uFFFF]/g;

export interface Repair {
  readonly text: string;
  readonly notes: readonly string[];
}

export function repairAggregateXml(input: string): Repair {
  const notes: string[] = [];
  let text = input;
  // A report wrapped in other markup that is itself broken (e.g. an unclosed <xs:schema>): keep
  // only the <feedback> element.
  const start = text.search(/<([A-Za-z_][\w.-]*:)?feedback[\s>]/);
  const close = text.lastIndexOf('feedback>');
  if (start > 0 && close > start && /^\s*(<\?xml[^>]*\?>)?\s*$/.test(text.slice(0, start)) === false) {
    text = text.slice(start, close + 'feedback>'.length);
    notes.push('only the <feedback> element was kept from the surrounding markup');
  }
  if (INVALID_XML_CHARS.test(text)) {
    text = text.replace(INVALID_XML_CHARS, '');
    notes.push('characters not allowed in XML were removed');
  }
  let out = '';
  let escapedLt = 0;
  let escapedAmp = 0;
  let i = 0;
  while (i < text.length) {
    const next = nextSpecial(text, i);
    out += text.slice(i, next);
    if (next >= text.length) break;
    const rest = text.slice(next, next + 512);
    if (text[next] === '&') {
      if (ENTITY.test(rest)) out += '&';
      else {
        out += '&amp;';
        escapedAmp += 1;
      }
      i = next + 1;
      continue;
    }
    // "<": keep declarations, comments, CDATA and known element tags; escape the rest.
    if (rest.startsWith('<?') || rest.startsWith('<!--') || rest.startsWith('<![CDATA[')) {
      out += '<';
      i = next + 1;
      continue;
    }
    const tag = TAG.exec(rest);
    if (tag !== null && KNOWN_ELEMENTS.has((tag[2] ?? '').toLowerCase())) {
      out += tag[0];
      i = next + tag[0].length;
      continue;
    }
    out += '&lt;';
    escapedLt += 1;
    i = next + 1;
  }
  if (escapedLt > 0) notes.push(`${escapedLt} "<" that did not start a report element were read as text`);
  if (escapedAmp > 0) notes.push(`${escapedAmp} "&" that did not start an entity were read as text`);
  return { text: out, notes };
}

function nextSpecial(text: string, from: number): number {
  const lt = text.indexOf('<', from);
  const amp = text.indexOf('&', from);
  if (lt < 0) return amp < 0 ? text.length : amp;
  return amp < 0 ? lt : Math.min(lt, amp);
}
