/** How the pages write numbers, durations and times (pure, shared by every view). */

export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

export function formatPercent(ratio: number | null, digits = 1): string {
  return ratio === null ? '–' : `${(ratio * 100).toFixed(digits)}%`;
}

export function formatDuration(ms: number | null): string {
  if (ms === null) return '–';
  if (ms < 1) return `${ms.toFixed(2)} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  if (ms < 3_600_000) return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}

/** UTC, to the second: the same on every screen, and stable for ETags. */
export function formatTime(date: Date | null): string {
  if (date === null) return '–';
  return `${date.toISOString().slice(0, 19).replace('T', ' ')}Z`;
}
