import { Button } from '@/components/Button';
import { Card } from '@/components/Card';
import { ErrorAlert } from '@/components/ErrorAlert';
import { formatDateTime } from '@/lib/format';
import { useRetagProgress, useStartRetag } from '../hooks/useAdmin';

export function RetagCard() {
  const progress = useRetagProgress();
  const start = useStartRetag();
  const data = progress.data;
  const running = data?.state === 'running';
  return (
    <Card
      title="Journal re-tagging"
      actions={
        <Button className="text-xs" disabled={running || start.isPending} onClick={() => start.mutate(undefined)}>
          Re-tag all entries
        </Button>
      }
    >
      <ErrorAlert error={progress.error ?? start.error} />
      {data && (
        <div className="flex flex-col gap-2 text-sm">
          <label className="flex flex-col gap-1">
            <span>
              {data.state === 'idle' ? 'Not started' : `${data.state === 'running' ? 'Running' : 'Done'}: ${data.done} of ${data.total} entries`}
              {data.classifier_version && <span className="text-slate-500"> · classifier {data.classifier_version}</span>}
            </span>
            <progress className="h-2 w-full accent-indigo-600" max={Math.max(data.total, 1)} value={data.done} />
          </label>
          {data.started_at && (
            <p className="text-xs text-slate-500">
              Started {formatDateTime(data.started_at)}
              {data.finished_at && `, finished ${formatDateTime(data.finished_at)}`}
            </p>
          )}
        </div>
      )}
    </Card>
  );
}
