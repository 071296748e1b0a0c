import { Button } from '@/components/Button';
import { Card } from '@/components/Card';
import { ErrorAlert } from '@/components/ErrorAlert';
import { formatPercent } from '@/lib/format';
import { useCacheStats, useFlushCache } from '../hooks/useAdmin';

export function CacheCard() {
  const cache = useCacheStats();
  const flush = useFlushCache();
  const entries = cache.data?.entries;
  const onFlush = () => {
    const what = entries === undefined ? 'every cached reply' : `all ${entries.toLocaleString()} cached replies`;
    if (!window.confirm(`Flush the response cache? This drops ${what} for every user; repeated messages are generated again until it refills.`)) return;
    flush.mutate(undefined);
  };
  return (
    <Card
      title="Response cache"
      actions={
        <Button variant="danger" className="text-xs" disabled={flush.isPending} onClick={onFlush}>
          Flush cache
        </Button>
      }
    >
      <ErrorAlert error={cache.error ?? flush.error} />
      {cache.data && (
        <dl className="grid grid-cols-2 gap-2 text-sm sm:grid-cols-4">
          <div>
            <dt className="text-xs text-slate-500">Hit ratio</dt>
            <dd className="text-lg font-semibold">{formatPercent(cache.data.hit_ratio)}</dd>
          </div>
          <div>
            <dt className="text-xs text-slate-500">Hits</dt>
            <dd>{cache.data.hits}</dd>
          </div>
          <div>
            <dt className="text-xs text-slate-500">Misses</dt>
            <dd>{cache.data.misses}</dd>
          </div>
          <div>
            <dt className="text-xs text-slate-500">Entries</dt>
            <dd>{cache.data.entries}</dd>
          </div>
        </dl>
      )}
      {flush.data && <p role="status" className="mt-2 text-xs text-slate-600">Flushed {flush.data.flushed} entries.</p>}
    </Card>
  );
}
