/**
 * Per-day shares of a report's date range, for charts: a report covering more than one UTC day
 * (some reporters send weekly reports) stays one report, but its counts are spread over the days
 * it covers in proportion to the overlap, so a daily chart has no spikes.
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

/** At most `maxDays` days are used (a bogus range of years would otherwise make thousands of rows). */
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
