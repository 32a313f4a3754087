import type { SystemName } from './types';

export const SYSTEMS: SystemName[] = ['tributary', 'sharedb', 'yjs', 'raw ws'];

/** A measured value, or why there is none (failed, not applicable, not run). */
export type Cell = { value: number; note?: string } | { failed: string };

export interface Figure {
  label: string;
  better: 'higher' | 'lower';
  digits: number;
  cells: Partial<Record<SystemName, Cell>>;
}

const num = (c: Cell | undefined): number | undefined => (c && 'value' in c && Number.isFinite(c.value) ? c.value : undefined);

function formatNumber(v: number, digits: number): string {
  const fixed = v.toFixed(digits);
  const [int, frac] = fixed.split('.');
  const grouped = int!.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return frac === undefined ? grouped : `${grouped}.${frac}`;
}

function formatCell(c: Cell | undefined, digits: number): string {
  if (!c) return '–';
  if ('failed' in c) return `FAIL: ${c.failed}`;
  const v = Number.isFinite(c.value) ? formatNumber(c.value, digits) : 'n/a';
  return c.note ? `${v} (${c.note})` : v;
}

function ratio(a: number | undefined, b: number | undefined): string {
  if (a === undefined || b === undefined || b === 0) return '–';
  const r = a / b;
  return r >= 100 ? r.toFixed(0) : r >= 10 ? r.toFixed(1) : r >= 0.1 ? r.toFixed(2) : r.toPrecision(2);
}

/**
 * The final table: one row per figure, a column per system, then tributary ÷ raw ws and
 * tributary ÷ the better of sharedb and yjs for that figure (higher or lower, as the figure says).
 */
export function renderTable(figures: Figure[]): string {
  const header = ['figure', 'better', ...SYSTEMS, 'tributary / raw ws', 'tributary / best peer'];
  const rows = figures.map((f) => {
    const peers = (['sharedb', 'yjs'] as const).map((s) => num(f.cells[s])).filter((v): v is number => v !== undefined);
    const best = peers.length ? (f.better === 'higher' ? Math.max(...peers) : Math.min(...peers)) : undefined;
    const trib = num(f.cells.tributary);
    return [f.label, f.better, ...SYSTEMS.map((s) => formatCell(f.cells[s], f.digits)), ratio(trib, num(f.cells['raw ws'])), ratio(trib, best)];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => (i === 0 || i === 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  return [line(header), `|${widths.map((w, i) => (i < 2 ? `${'-'.repeat(w + 1)}-` : `${'-'.repeat(w + 1)}:`)).join('|')}|`, ...rows.map(line)].join('\n');
}
