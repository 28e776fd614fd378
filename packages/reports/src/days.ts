/**
 * Per-day figures of a report's date range, for charts and daily tables. A report covering more
 * than one UTC day (some reporters send weekly reports) stays one report, but its messages are
 * spread over the days it covers in proportion to the overlap, in whole messages: each count is
 * split by the largest-remainder method (ties go to the earlier day), so the day figures are
 * integers that add up exactly to the report's count. A range longer than 31 days is put on its
 * first day whole (a bogus range of years would otherwise make thousands of rows).
 */
export const SECONDS_PER_DAY = 86_400;

export interface DayShare {
  /** Days since the epoch (UTC). */
  readonly day: number;
  /** Fraction of the report's counts that falls on this day; the shares add up to 1. */
  readonly share: number;
}

/** A range longer than one day is flagged on the stored report (RFC 7489 §7.2 asks for daily reports). */
export function isLongRange(begin: number, end: number): boolean {
  return end - begin > SECONDS_PER_DAY;
}

/** The UTC days a range covers with their share of it. At most `maxDays` days are used. */
export function dayShares(begin: number, end: number, maxDays = 31): DayShare[] {
  if (!(end > begin)) return [{ day: Math.floor(begin / SECONDS_PER_DAY), share: 1 }];
  const first = Math.floor(begin / SECONDS_PER_DAY);
  const last = Math.floor((end - 1) / SECONDS_PER_DAY);
  if (last - first + 1 > maxDays) return [{ day: first, share: 1 }];
  const total = end - begin;
  const shares: DayShare[] = [];
  for (let day = first; day <= last; day += 1) {
    const from = Math.max(begin, day * SECONDS_PER_DAY);
    const to = Math.min(end, (day + 1) * SECONDS_PER_DAY);
    if (to > from) shares.push({ day, share: (to - from) / total });
  }
  return shares;
}

/** `count` split into whole numbers in proportion to `shares` (largest remainder; ties to the earlier). */
export function splitWhole(count: number, shares: readonly number[]): number[] {
  const exact = shares.map((share) => count * share);
  const parts = exact.map(Math.floor);
  let left = count - parts.reduce((sum, n) => sum + n, 0);
  const order = exact
    .map((value, i) => ({ i, rest: value - Math.floor(value) }))
    .sort((a, b) => b.rest - a.rest || a.i - b.i);
  for (const { i } of order) {
    if (left <= 0) break;
    parts[i] = (parts[i] as number) + 1;
    left -= 1;
  }
  return parts;
}

/** A report's messages by verdict: the reporter's (policy_evaluated) and the recomputed one. */
export interface VerdictCounts {
  /** Passing for both. */
  readonly bothPass: number;
  /** Passing for the reporter only. */
  readonly reporterOnly: number;
  /** Passing when recomputed only. */
  readonly recomputedOnly: number;
  /** Failing for both. */
  readonly neither: number;
}

export interface DayCounts {
  readonly day: number;
  readonly messages: number;
  /** The reporters' verdict. */
  readonly dmarcPass: number;
  readonly recomputedPass: number;
}

/**
 * A report's counts per UTC day in whole messages. Each verdict class is split on its own, so
 * every day's pass counts stay within its messages and every column adds up to the report's.
 */
export function dayCounts(begin: number, end: number, counts: VerdictCounts): DayCounts[] {
  const days = dayShares(begin, end);
  const shares = days.map((d) => d.share);
  const [both, reporter, recomputed, neither] = [
    splitWhole(counts.bothPass, shares),
    splitWhole(counts.reporterOnly, shares),
    splitWhole(counts.recomputedOnly, shares),
    splitWhole(counts.neither, shares),
  ];
  return days.map(({ day }, i) => {
    const at = (parts: number[]) => parts[i] as number;
    return {
      day,
      messages: at(both) + at(reporter) + at(recomputed) + at(neither),
      dmarcPass: at(both) + at(reporter),
      recomputedPass: at(both) + at(recomputed),
    };
  });
}

/** An epoch day as an ISO date (YYYY-MM-DD). */
export function isoDay(epochDay: number): string {
  return new Date(epochDay * SECONDS_PER_DAY * 1000).toISOString().slice(0, 10);
}
