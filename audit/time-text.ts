/** Time written as text by users (CLI options, dashboard URLs): a duration back from now, or a date. */

const UNITS: Readonly<Record<string, number>> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** `90m`, `24h`, `7d`... as milliseconds, or undefined when `value` is not such a duration. */
export function durationMs(value: string): number | undefined {
  const relative = /^(\d+(?:\.\d+)?)\s*([smhdw])$/.exec(value.trim());
  if (relative === null) return undefined;
  return Number(relative[1]) * (UNITS[relative[2] ?? 'h'] ?? 0);
}

/** How the accepted absolute times are described in error messages. */
export const ISO_TIME_FORM =
  'an ISO-8601 time with Z or an offset (2026-12-01T00:00:00Z, 2026-12-01T09:00+09:00; a date alone, 2026-12-01, is midnight UTC)';

const ISO_TIME =
  /^(\d{4})-(\d{2})-(\d{2})(?:T(?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:\.\d{1,9})?)?(?:Z|[+-](?:[01]\d|2[0-3]):?[0-5]\d))?$/;

/** Whether year-month-day is a day of the calendar (not 2026-02-30). */
function isCalendarDay(year: number, month: number, day: number): boolean {
  const date = new Date(Date.UTC(year, month - 1, day));
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

/**
 * An ISO-8601 time with `Z` or an offset, or a date alone (midnight UTC); undefined for anything
 * else, a time without an offset included: it would be read in the local time zone of whichever
 * machine reads it.
 */
export function isoTime(value: string): Date | undefined {
  const text = value.trim();
  const iso = ISO_TIME.exec(text);
  if (iso === null || !isCalendarDay(Number(iso[1]), Number(iso[2]), Number(iso[3]))) return undefined;
  const date = new Date(text);
  return Number.isNaN(date.getTime()) ? undefined : date;
}
