/** Time written as text by users (CLI options, dashboard URLs): a duration back from now, or a date. */

const UNITS: Readonly<Record<string, number>> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** `90m`, `24h`, `7d`... as milliseconds, or undefined when `value` is not such a duration. */
export function durationMs(value: string): number | undefined {
  const relative = /^(\d+(?:\.\d+)?)\s*([smhdw])$/.exec(value.trim());
  if (relative === null) return undefined;
  return Number(relative[1]) * (UNITS[relative[2] ?? 'h'] ?? 0);
}
