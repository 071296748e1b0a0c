import { Card } from '@/components/Card';
import { ErrorAlert } from '@/components/ErrorAlert';
import { Spinner } from '@/components/Spinner';
import { useWorkers } from '../hooks/useAdmin';
import { CELL, Table } from './Table';

const STALE_HEARTBEAT_S = 30;

export function WorkersCard() {
  const workers = useWorkers();
  return (
    <Card title="Workers">
      <ErrorAlert error={workers.error} />
      {workers.isPending && <Spinner />}
      {workers.data?.length === 0 && <p className="text-sm text-rose-700">No worker has sent a heartbeat: chat replies cannot be generated.</p>}
      {workers.data && workers.data.length > 0 && (
        <Table label="Workers" headers={['Worker', 'Heartbeat', 'Active jobs', 'Queue depth', 'Models']}>
          {workers.data.map((worker) => (
            <tr key={worker.worker_id}>
              <td className={CELL}>
                <span className="font-medium">{worker.worker_id}</span>
                <p className="text-xs text-slate-500">
                  {worker.host} · pid {worker.pid}
                </p>
              </td>
              <td className={`${CELL} ${worker.heartbeat_age_s > STALE_HEARTBEAT_S ? 'font-medium text-rose-700' : ''}`}>{worker.heartbeat_age_s.toFixed(1)} s ago</td>
              <td className={CELL}>{worker.active_jobs}</td>
              <td className={`${CELL} text-xs`}>
                {Object.entries(worker.queue_depth).map(([model, depth]) => (
                  <div key={model}>
                    {model}: {depth}
                  </div>
                ))}
                {Object.keys(worker.queue_depth).length === 0 && '—'}
              </td>
              <td className={`${CELL} text-xs`}>{worker.models.join(', ')}</td>
            </tr>
          ))}
        </Table>
      )}
    </Card>
  );
}
