import { useState } from 'react';
import { Button } from '@/components/Button';
import { Card } from '@/components/Card';
import { ErrorAlert } from '@/components/ErrorAlert';
import { formatDateTime } from '@/lib/format';
import { AUDIT_PAGE_SIZE } from '../api/admin-api';
import { useAudit } from '../hooks/useAdmin';
import { CELL, Table } from './Table';

export function AuditCard() {
  const [offset, setOffset] = useState(0);
  const audit = useAudit(offset);
  const total = audit.data?.total ?? 0;
  return (
    <Card
      title="Audit log"
      actions={
        <div className="flex items-center gap-2 text-xs text-slate-600">
          <Button variant="secondary" className="text-xs" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - AUDIT_PAGE_SIZE))}>
            Newer
          </Button>
          <span>
            {total === 0 ? 0 : offset + 1}–{Math.min(offset + AUDIT_PAGE_SIZE, total)} of {total}
          </span>
          <Button variant="secondary" className="text-xs" disabled={offset + AUDIT_PAGE_SIZE >= total} onClick={() => setOffset(offset + AUDIT_PAGE_SIZE)}>
            Older
          </Button>
        </div>
      }
    >
      <ErrorAlert error={audit.error} />
      {audit.data && (
        <Table label="Audit log" headers={['When', 'Who', 'Action', 'Target', 'Details']}>
          {audit.data.items.map((entry) => (
            <tr key={entry.id}>
              <td className={`${CELL} whitespace-nowrap text-xs`}>{formatDateTime(entry.created_at)}</td>
              <td className={CELL}>{entry.actor_email}</td>
              <td className={`${CELL} font-mono text-xs`}>{entry.action}</td>
              <td className={CELL}>{entry.target ?? '—'}</td>
              <td className={`${CELL} max-w-xs truncate font-mono text-xs`} title={entry.details ? JSON.stringify(entry.details) : undefined}>
                {entry.details ? JSON.stringify(entry.details) : '—'}
              </td>
            </tr>
          ))}
        </Table>
      )}
    </Card>
  );
}
