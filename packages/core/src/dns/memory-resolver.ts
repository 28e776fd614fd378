import type { LookupResult, RecordData, RecordType, Resolver } from './types.js';
import type { Zone } from './zone.js';
import { domainNameProblem } from './name.js';
import { normalizeName } from './types.js';

/** Longest CNAME chain followed before giving up; real resolvers use similar small limits. */
const MAX_CNAME_CHAIN = 16;

/**
 * Answers from a declarative zone, with real DNS semantics: NXDOMAIN for names not in the zone,
 * NODATA for names without the asked type and for empty non-terminals (names with none of their
 * own but names below them, RFC 8020 §2: "_domainkey.example.com" when a selector exists), CNAME
 * chains followed (loops are SERVFAIL).
 */
export class MemoryResolver implements Resolver {
  /** Every proper ancestor of a name in the zone. */
  private readonly nonTerminals = new Set<string>();

  constructor(private readonly zone: Zone) {
    for (const name of zone.keys()) {
      for (let dot = name.indexOf('.'); dot >= 0; dot = name.indexOf('.', dot + 1)) {
        this.nonTerminals.add(name.slice(dot + 1));
      }
    }
  }

  lookup<T extends RecordType>(name: string, type: T): Promise<LookupResult<T>> {
    return Promise.resolve(this.resolve(name, type));
  }

  private resolve<T extends RecordType>(name: string, type: T): LookupResult<T> {
    const problem = domainNameProblem(name);
    if (problem) return { kind: 'servfail', reason: `cannot query ${JSON.stringify(name)}: ${problem}` };
    let current = normalizeName(name);
    const cnames: string[] = [];
    let ttl = Number.POSITIVE_INFINITY;
    for (;;) {
      const node = this.zone.get(current);
      if (!node) return this.nonTerminals.has(current) ? { kind: 'nodata' } : { kind: 'nxdomain' };
      if (node.failure && !node.failure.exceptTypes.has(type)) {
        const reason = `${current} ${type}: ${node.failure.kind} (from zone fixture)`;
        // A fixture's SERVFAIL stands for a server answering SERVFAIL.
        return node.failure.kind === 'servfail'
          ? { kind: 'servfail', reason, rcode: true }
          : { kind: node.failure.kind, reason };
      }
      const cname = type === 'CNAME' ? undefined : node.records.find((record) => record.type === 'CNAME');
      if (cname) {
        if (cnames.length >= MAX_CNAME_CHAIN || cnames.includes(cname.data as string)) {
          return { kind: 'servfail', reason: `CNAME loop or chain longer than ${MAX_CNAME_CHAIN} at ${current}` };
        }
        cnames.push(cname.data as string);
        ttl = Math.min(ttl, cname.ttl);
        current = cname.data as string;
        continue;
      }
      const matching = node.records.filter((record) => record.type === type);
      if (matching.length === 0) return { kind: 'nodata' };
      for (const record of matching) ttl = Math.min(ttl, record.ttl);
      return {
        kind: 'answer',
        records: matching.map((record) => record.data as RecordData[T]),
        ttl,
        cnames,
        authenticated: false,
      };
    }
  }
}
