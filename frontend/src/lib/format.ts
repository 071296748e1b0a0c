export function formatDateTime(iso: string): string {
  return new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

export function formatPercent(ratio: number): string {
  return `${(ratio * 100).toFixed(1)}%`;
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : 'Something went wrong';
}

/** "building — 43 %, about 4 min left": a first-run build's progress (GET /api/models while `building`). */
export function formatBuild(progress: number | null, etaSeconds: number | null): string {
  const percent = `${Math.floor((progress ?? 0) * 100)} %`;
  if (etaSeconds === null) return `building — ${percent}`;
  const minutes = Math.round(etaSeconds / 60);
  return `building — ${percent}, ${minutes < 1 ? 'less than a minute left' : `about ${minutes} min left`}`;
}
