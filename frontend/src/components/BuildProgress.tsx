import { formatBuild } from '@/lib/format';

/** A model that a first run is still building: a bar and "building — 43 %, about 4 min left". */
export function BuildProgress({ name, progress, etaSeconds }: { name: string; progress: number | null; etaSeconds: number | null }) {
  const text = formatBuild(progress, etaSeconds);
  const percent = Math.floor((progress ?? 0) * 100);
  return (
    <span className="inline-flex items-center gap-2" data-testid={`build-${name}`}>
      <span
        role="progressbar"
        aria-label={`${name} build`}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={percent}
        aria-valuetext={text}
        className="h-1.5 w-16 overflow-hidden rounded-full bg-slate-200"
      >
        <span className="block h-full bg-amber-500" style={{ width: `${percent}%` }} />
      </span>
      <span className="text-xs text-slate-600">{text}</span>
    </span>
  );
}
