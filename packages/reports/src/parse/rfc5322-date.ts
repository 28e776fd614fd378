/**
 * RFC 5322 §3.3 date-times (with the obsolete zone names of §4.3) to epoch seconds. Written by hand
 * because Date.parse accepts almost anything and reads zone-less dates in local time; failure
 * reports need a strict reading or a warning.
 */
const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
/** RFC 5322 §4.3 obsolete zone names, in minutes east of UTC. */
const ZONES: Readonly<Record<string, number>> = {
  ut: 0,
  utc: 0,
  gmt: 0,
  z: 0,
  edt: -240,
  est: -300,
  cdt: -300,
  cst: -360,
  mdt: -360,
  mst: -420,
  pdt: -420,
  pst: -480,
};

/**
 * RFC 5322 §3.3 date-time to epoch seconds. Written out rather than Date.parse, which accepts
 * nearly anything and would turn garbage into a plausible date.
 */
export function parseRfc5322Date(raw: string): number | undefined {
  const text = raw.replace(/\([^()]*\)/g, ' ').trim();
  const match =
    /^(?:[A-Za-z]{3}\s*,\s*)?(\d{1,2})\s+([A-Za-z]{3})[a-z]*\s+(\d{2,4})\s+(\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(?:\s+([+-]\d{4}|[A-Za-z]{1,5}))?$/.exec(
      text,
    );
  if (!match) return undefined;
  const [, dayS, monS, yearS, hourS, minS, secS, zoneS] = match;
  const month = MONTHS.indexOf((monS ?? '').toLowerCase());
  if (month < 0) return undefined;
  let year = Number(yearS);
  // RFC 5322 §4.3: two-digit years 00-49 are 20xx, 50-99 and three-digit years add 1900.
  if ((yearS ?? '').length === 2) year += year < 50 ? 2000 : 1900;
  else if ((yearS ?? '').length === 3) year += 1900;
  const day = Number(dayS);
  const hour = Number(hourS);
  const minute = Number(minS);
  const second = secS === undefined ? 0 : Number(secS);
  if (day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) return undefined;
  const offset = zoneOffsetMinutes(zoneS);
  if (offset === undefined) return undefined;
  const utc = Date.UTC(year, month, day, hour, minute, Math.min(second, 59));
  if (new Date(utc).getUTCDate() !== day) return undefined; // 31 Feb and friends
  return utc / 1000 - offset * 60;
}

function zoneOffsetMinutes(zone: string | undefined): number | undefined {
  if (zone === undefined) return 0; // RFC 5322 requires a zone; treat a missing one as UTC
  const numeric = /^([+-])(\d{2})(\d{2})$/.exec(zone);
  if (numeric) {
    const minutes = Number(numeric[2]) * 60 + Number(numeric[3]);
    if (Number(numeric[3]) > 59) return undefined;
    return numeric[1] === '-' ? -minutes : minutes;
  }
  const named = ZONES[zone.toLowerCase()];
  if (named !== undefined) return named;
  // Military zones are unreliable (RFC 5322 §4.3 says treat them as -0000).
  return /^[A-Za-z]$/.test(zone) ? 0 : undefined;
}
