/**
 * Typed reads of query result rows (plain objects from the pg driver), without
 * casts: each reader checks the value it returns.
 */
import { readProperty } from '../src/safe-read';
import type { ErrorDetailsColumn } from '../schema/worker-job-record';

export type Row = Record<string, unknown>;

export function text(row: Row, key: string): string | null {
  const value = readProperty(row, key);
  return typeof value === 'string' ? value : null;
}

export function requiredText(row: Row, key: string): string {
  return text(row, key) ?? '';
}

/** A number; numeric and bigint columns arrive as strings from pg. */
export function num(row: Row, key: string): number | null {
  const value = readProperty(row, key);
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value === 'string' && value.trim() !== '') {
    const parsed = Number(value);
    return Number.isFinite(parsed) ? parsed : null;
  }
  return null;
}

export function count(row: Row, key: string): number {
  return num(row, key) ?? 0;
}

export function date(row: Row, key: string): Date | null {
  const value = readProperty(row, key);
  if (value instanceof Date) return value;
  if (typeof value === 'string' || typeof value === 'number') {
    const parsed = new Date(value);
    return Number.isNaN(parsed.getTime()) ? null : parsed;
  }
  return null;
}

/** An array of numbers (a null element counts 0). */
export function numbers(row: Row, key: string): number[] {
  const value = readProperty(row, key);
  if (!Array.isArray(value)) return [];
  return value.map((element: unknown) => {
    if (typeof element === 'number') return Number.isFinite(element) ? element : 0;
    if (typeof element === 'string') {
      const parsed = Number(element);
      return Number.isFinite(parsed) ? parsed : 0;
    }
    return 0;
  });
}

/** An array of strings (other elements left out). */
export function strings(row: Row, key: string): string[] {
  const value = readProperty(row, key);
  if (!Array.isArray(value)) return [];
  return value.filter((element: unknown): element is string => typeof element === 'string');
}

export function bool(row: Row, key: string): boolean {
  return readProperty(row, key) === true;
}

export function json(row: Row, key: string): unknown {
  const value = readProperty(row, key);
  return value === undefined ? null : value;
}

export function errorDetails(row: Row, key: string): ErrorDetailsColumn | null {
  const value = readProperty(row, key);
  if (typeof value !== 'object' || value === null) return null;
  const name = readProperty(value, 'name');
  const message = readProperty(value, 'message');
  const stack = readProperty(value, 'stack');
  if (typeof name !== 'string') return null;
  const details = { name, message: typeof message === 'string' ? message : '' };
  return typeof stack === 'string' ? { ...details, stack } : details;
}

export function isRow(value: unknown): value is Row {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
