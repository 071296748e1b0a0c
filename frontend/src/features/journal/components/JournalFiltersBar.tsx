import { INPUT_CLASS } from '@/components/Field';
import { MOODS } from '@/lib/protocol';
import type { JournalFilters } from '../api/journal-api';

export function JournalFiltersBar({ filters, onChange }: { filters: JournalFilters; onChange: (next: JournalFilters) => void }) {
  const set = (patch: Partial<JournalFilters>) => onChange({ ...filters, ...patch });
  return (
    <fieldset className="grid grid-cols-2 gap-2 sm:grid-cols-3">
      <legend className="sr-only">Filter entries</legend>
      <label className="flex flex-col gap-1 text-xs font-medium text-slate-700">
        Mood
        <select className={INPUT_CLASS} value={filters.mood ?? ''} onChange={(e) => set({ mood: e.target.value as JournalFilters['mood'] })}>
          <option value="">Any mood</option>
          {MOODS.map((mood) => (
            <option key={mood} value={mood}>
              {mood}
            </option>
          ))}
        </select>
      </label>
      <label className="flex flex-col gap-1 text-xs font-medium text-slate-700">
        From
        <input type="date" className={INPUT_CLASS} value={filters.since ?? ''} onChange={(e) => set({ since: e.target.value })} />
      </label>
      <label className="flex flex-col gap-1 text-xs font-medium text-slate-700">
        To
        <input type="date" className={INPUT_CLASS} value={filters.until ?? ''} onChange={(e) => set({ until: e.target.value })} />
      </label>
      {/* A row of its own: squeezed into a quarter of the card, its placeholder was cut off. */}
      <label className="col-span-2 flex flex-col gap-1 text-xs font-medium text-slate-700 sm:col-span-3">
        Search
        <input type="search" className={INPUT_CLASS} value={filters.q ?? ''} placeholder="words in the entry" onChange={(e) => set({ q: e.target.value })} />
      </label>
    </fieldset>
  );
}
