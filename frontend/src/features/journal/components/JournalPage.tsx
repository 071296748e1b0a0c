import { useState } from 'react';
import { BuildProgress } from '@/components/BuildProgress';
import { Button } from '@/components/Button';
import { Card } from '@/components/Card';
import { ErrorAlert } from '@/components/ErrorAlert';
import { Spinner } from '@/components/Spinner';
import { useDebouncedValue } from '@/hooks/useDebouncedValue';
import { downloadExport, type JournalFilters, type StatsBucket } from '../api/journal-api';
import { hasPending, useEntries, useJournalStats, useMoodBuild, useRefreshStatsWhenTagged } from '../hooks/useJournal';
import { EntryForm } from './EntryForm';
import { EntryItem } from './EntryItem';
import { JournalFiltersBar } from './JournalFiltersBar';
import { MoodDistribution, MoodOverTime } from './MoodCharts';

export function JournalPage() {
  const [filters, setFilters] = useState<JournalFilters>({});
  const [bucket, setBucket] = useState<StatsBucket>('day');
  const [exportError, setExportError] = useState<unknown>(null);
  const entries = useEntries(useDebouncedValue(filters, 300));
  const anyPending = hasPending(entries.data);
  const stats = useJournalStats(bucket, anyPending);
  useRefreshStatsWhenTagged(anyPending);
  const moodBuild = useMoodBuild(anyPending);

  const exportAs = (format: 'csv' | 'json') => {
    setExportError(null);
    downloadExport(format).catch(setExportError);
  };

  return (
    <main className="mx-auto grid w-full max-w-6xl gap-4 p-3 sm:p-4 lg:grid-cols-[minmax(0,1fr)_minmax(0,1fr)]">
      <h1 className="sr-only">Journal</h1>
      <div className="flex flex-col gap-4">
        <Card title="Write">
          <EntryForm />
        </Card>
        <Card
          title={`Entries${entries.data ? ` (${entries.data.total})` : ''}`}
          actions={
            <div className="flex gap-1">
              <Button variant="secondary" className="text-xs" onClick={() => exportAs('csv')}>
                Export CSV
              </Button>
              <Button variant="secondary" className="text-xs" onClick={() => exportAs('json')}>
                Export JSON
              </Button>
            </div>
          }
        >
          {moodBuild && (
            <div role="status" className="mb-3 rounded-md border border-amber-300 bg-amber-50 p-2 text-sm text-slate-800" data-testid="mood-build">
              <p className="mb-1">The mood classifier is still being set up on this first run. Your entries are saved, and each gets its mood as soon as it is ready.</p>
              <BuildProgress name={moodBuild.name} progress={moodBuild.progress} etaSeconds={moodBuild.eta_s} />
            </div>
          )}
          <JournalFiltersBar filters={filters} onChange={setFilters} />
          <ErrorAlert error={entries.error ?? exportError} />
          {entries.isPending ? (
            <Spinner />
          ) : (
            <ul className="mt-3 flex flex-col gap-2" aria-label="Journal entries">
              {entries.data?.items.map((entry) => <EntryItem key={entry.id} entry={entry} />)}
            </ul>
          )}
          {entries.data?.items.length === 0 && <p className="mt-3 text-sm text-slate-500">No entries match.</p>}
        </Card>
      </div>
      <Card
        title="Your moods"
        actions={
          <label className="flex items-center gap-1 text-xs text-slate-700">
            Group by
            <select value={bucket} onChange={(e) => setBucket(e.target.value as StatsBucket)} className="rounded border border-slate-300 px-1 py-0.5 focus-visible:outline-2 focus-visible:outline-indigo-600">
              <option value="day">day</option>
              <option value="week">week</option>
            </select>
          </label>
        }
      >
        <ErrorAlert error={stats.error} />
        {stats.data ? (
          <div className="flex flex-col gap-6">
            <MoodOverTime stats={stats.data} />
            <MoodDistribution stats={stats.data} />
          </div>
        ) : (
          stats.isPending && <Spinner />
        )}
      </Card>
    </main>
  );
}
