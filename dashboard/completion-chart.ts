/** Completed vs failed-for-good jobs over time as inline SVG, drawn on the server (no script, CSP-safe). */
import { html } from './html';
import type { Html } from './html';
import { formatCount, formatTime } from './format';

export interface ChartBin {
  readonly at: Date;
  readonly completedJobs: number;
  readonly failedJobs: number;
}

const WIDTH = 720;
const HEIGHT = 160;
const TOP = 8;
const BOTTOM = 20;

/** Stacked bars (completed below, failed above), one per bin, each with a tooltip. */
export function completionChart(bins: readonly ChartBin[], binMs: number): Html {
  const max = bins.reduce((most, bin) => Math.max(most, bin.completedJobs + bin.failedJobs), 1);
  const plot = HEIGHT - TOP - BOTTOM;
  const step = WIDTH / Math.max(1, bins.length);
  const barWidth = Math.max(1, step * 0.8);
  const scale = (n: number): number => (n / max) * plot;
  const round = (n: number): string => n.toFixed(1);
  const first = bins[0];
  const last = bins[bins.length - 1];
  return html`<figure class="chart">
    <svg viewBox="0 0 ${WIDTH} ${HEIGHT}" role="img" aria-label="Completed and failed jobs over time">
      ${bins.map((bin, i) => {
        const x = i * step + (step - barWidth) / 2;
        const completed = scale(bin.completedJobs);
        const failed = scale(bin.failedJobs);
        const base = HEIGHT - BOTTOM;
        return html`<g
          ><title>
            ${formatTime(bin.at)} +${Math.round(binMs / 60_000)} min: ${formatCount(bin.completedJobs)} completed,
            ${formatCount(bin.failedJobs)} failed</title
          ><rect
            class="ok"
            x="${round(x)}"
            y="${round(base - completed)}"
            width="${round(barWidth)}"
            height="${round(completed)}" /><rect
            class="bad"
            x="${round(x)}"
            y="${round(base - completed - failed)}"
            width="${round(barWidth)}"
            height="${round(failed)}"
        /></g>`;
      })}
      <text x="0" y="${HEIGHT - 4}">${first === undefined ? '' : formatTime(first.at)}</text>
      <text x="${WIDTH}" y="${HEIGHT - 4}" text-anchor="end">
        ${last === undefined ? '' : formatTime(new Date(last.at.getTime() + binMs))}
      </text>
      <text x="0" y="${TOP + 4}">${formatCount(max)}</text>
    </svg>
    <figcaption>
      <span class="key ok"></span> completed <span class="key bad"></span> failed for good (per
      ${binMs >= 86_400_000 ? `${binMs / 86_400_000} d` : binMs >= 3_600_000 ? `${binMs / 3_600_000} h` : `${binMs / 60_000} min`})
    </figcaption>
  </figure>`;
}

/** A horizontal timeline of a job's attempts (bars from start to end), relative to the first start. */
export function attemptTimeline(
  attempts: ReadonlyArray<{
    readonly startedAt: Date | null;
    readonly endedAt: Date | null;
    readonly outcome: string;
    readonly attempt: number;
  }>,
): Html {
  const timed = attempts.filter(
    (attempt): attempt is typeof attempt & { startedAt: Date; endedAt: Date } =>
      attempt.startedAt !== null && attempt.endedAt !== null,
  );
  const first = timed[0];
  if (first === undefined) return html``;
  const start = Math.min(...timed.map((attempt) => attempt.startedAt.getTime()));
  const end = Math.max(...timed.map((attempt) => attempt.endedAt.getTime()));
  const span = Math.max(1, end - start);
  const row = 18;
  const height = timed.length * row + 4;
  return html`<svg class="timeline" viewBox="0 0 ${WIDTH} ${height}" role="img" aria-label="Attempts over time">
    ${timed.map((attempt, i) => {
      const x = ((attempt.startedAt.getTime() - start) / span) * (WIDTH - 80) + 70;
      const w = Math.max(2, ((attempt.endedAt.getTime() - attempt.startedAt.getTime()) / span) * (WIDTH - 80));
      const kind =
        attempt.outcome === 'completed'
          ? 'ok'
          : attempt.outcome === 'failed' || attempt.outcome === 'retry' || attempt.outcome === 'stalled'
            ? 'bad'
            : 'other';
      return html`<text x="0" y="${i * row + 14}">#${attempt.attempt}</text
        ><rect class="${kind}" x="${x.toFixed(1)}" y="${i * row + 3}" width="${w.toFixed(1)}" height="${row - 6}"
          ><title>attempt ${attempt.attempt}: ${attempt.outcome}</title></rect
        >`;
    })}
  </svg>`;
}
