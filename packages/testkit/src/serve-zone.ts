/**
 * Serves one core `Zone` fixture from Knot, failure markers included, so the same fixture can
 * drive MemoryResolver and NetworkResolver:
 * - names go into the root zone `.` (so any name can be served from one zone);
 * - a name marked SERVFAIL for every type, with no names below it, becomes its own zone with a
 *   broken zone file: Knot itself answers SERVFAIL;
 * - other markers (TIMEOUT, REFUSED, SERVFAIL with exceptions) are applied by a dropping proxy in
 *   front of Knot, for the marked name and the types not listed before the marker. Such a name
 *   becomes the apex of its own zone (when it has no CNAME), so that a CNAME pointing at it is
 *   answered with a referral and the resolver's follow-up query passes through the proxy, instead
 *   of Knot following the CNAME internally past the proxy.
 */
import type { Zone, ZoneNode } from '@mailward/core';
import type { DroppingProxy, ProxyQuestion } from './dropping-proxy.js';
import { startDroppingProxy } from './dropping-proxy.js';
import type { KnotServer, KnotZone } from './knot.js';
import { startKnot } from './knot.js';
import { renderZone } from './zone-file.js';

export interface ProxyRule {
  readonly name: string;
  readonly kind: 'timeout' | 'servfail' | 'refused';
  readonly exceptTypes: ReadonlySet<string>;
}

export interface ZonePlan {
  readonly zones: KnotZone[];
  readonly rules: ProxyRule[];
}

export interface ServedZone {
  /** Where to send queries: the proxy when the fixture needs one, else Knot itself. */
  readonly host: string;
  readonly port: number;
  readonly knot: KnotServer;
  readonly proxy: DroppingProxy | undefined;
  stop(): Promise<void>;
}

export async function serveZone(zone: Zone): Promise<ServedZone> {
  const plan = planZones(zone);
  const knot = await startKnot({ zones: plan.zones });
  let proxy: DroppingProxy | undefined;
  try {
    if (plan.rules.length > 0) {
      const ruleFor = (question: ProxyQuestion): ProxyRule | undefined =>
        plan.rules.find((rule) => rule.name === question.name && !rule.exceptTypes.has(question.type));
      proxy = await startDroppingProxy({
        upstream: knot,
        drop: (question) => ruleFor(question)?.kind === 'timeout',
        rcode: (question) => {
          const kind = ruleFor(question)?.kind;
          return kind === 'servfail' ? 'SERVFAIL' : kind === 'refused' ? 'REFUSED' : undefined;
        },
      });
    }
  } catch (error) {
    await knot.stop();
    throw error;
  }
  const front = proxy ?? knot;
  return {
    host: front.host,
    port: front.port,
    knot,
    proxy,
    async stop() {
      await proxy?.stop();
      await knot.stop();
    },
  };
}

/** Splits a fixture into Knot zones and proxy rules (pure; see the note at the top). */
export function planZones(zone: Zone): ZonePlan {
  const names = [...zone.keys()];
  const below = (name: string): boolean => names.some((other) => other.endsWith(`.${name}`));
  const broken = new Set<string>();
  const apexes = new Set<string>();
  const rules: ProxyRule[] = [];
  for (const [name, node] of zone) {
    if (!node.failure) continue;
    const { kind, exceptTypes } = node.failure;
    const canBeApex = !node.records.some((record) => record.type === 'CNAME');
    if (kind === 'servfail' && exceptTypes.size === 0 && canBeApex && !below(name)) {
      broken.add(name);
      continue;
    }
    rules.push({ name, kind, exceptTypes });
    if (canBeApex) apexes.add(name);
  }
  const members = new Map<string, Map<string, ZoneNode>>([['.', new Map()]]);
  for (const apex of apexes) members.set(apex, new Map());
  for (const [name, node] of zone) {
    if (broken.has(name)) continue;
    const origin = closestApex(name, apexes);
    members.get(origin)?.set(name, node);
  }
  const zones: KnotZone[] = [...members].map(([origin, nodes]) => ({ origin, text: renderZone(nodes, { origin }) }));
  for (const origin of broken) zones.push({ origin, broken: true });
  return { zones, rules };
}

function closestApex(name: string, apexes: ReadonlySet<string>): string {
  let best = '.';
  for (const apex of apexes) {
    if ((name === apex || name.endsWith(`.${apex}`)) && (best === '.' || apex.length > best.length)) best = apex;
  }
  return best;
}
