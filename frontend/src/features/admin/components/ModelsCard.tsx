import { BuildProgress } from '@/components/BuildProgress';
import { Button } from '@/components/Button';
import { Card } from '@/components/Card';
import { ErrorAlert } from '@/components/ErrorAlert';
import { Spinner } from '@/components/Spinner';
import { formatBytes } from '@/lib/format';
import type { AdminModel } from '@/lib/protocol';
import { useAdminModels, useLoadModel, useSetDefaultModel, useUnloadModel } from '../hooks/useAdmin';
import { CELL, Table } from './Table';

const STATE_STYLE: Record<string, string> = {
  loaded: 'bg-emerald-100 text-emerald-900',
  available: 'bg-sky-100 text-sky-900',
  loading: 'bg-amber-100 text-amber-900',
  building: 'bg-amber-100 text-amber-900',
  unavailable: 'bg-slate-200 text-slate-700',
};

const isChatModel = (model: AdminModel) => model.chat;
const canLoad = (model: AdminModel) => model.state === 'available';

export function ModelsCard() {
  const models = useAdminModels();
  const load = useLoadModel();
  const unload = useUnloadModel();
  const makeDefault = useSetDefaultModel();
  const busy = load.isPending || unload.isPending || makeDefault.isPending;
  return (
    <Card title="Models">
      <ErrorAlert error={models.error ?? load.error ?? unload.error ?? makeDefault.error} />
      {models.isPending && <Spinner />}
      {models.data && (
        <Table label="Models" headers={['Name', 'Kind', 'State', 'Memory', 'Workers', 'Actions']}>
          {models.data.map((model) => (
            <tr key={model.name} data-testid={`model-${model.name}`}>
              <td className={CELL}>
                <span className="font-medium">{model.name}</span>
                {model.default && <span className="ml-2 rounded-full bg-indigo-100 px-2 py-0.5 text-xs font-medium text-indigo-900">default</span>}
                {model.description && <p className="text-xs text-slate-500">{model.description}</p>}
              </td>
              <td className={CELL}>{model.kind}</td>
              <td className={CELL}>
                <span className={`rounded-full px-2 py-0.5 text-xs font-medium ${STATE_STYLE[model.state] ?? ''}`}>{model.state}</span>
                {model.state === 'building' ? (
                  <p>
                    <BuildProgress name={model.name} progress={model.progress} etaSeconds={model.eta_s} />
                  </p>
                ) : (
                  model.reason && <p className="text-xs text-slate-500">{model.reason}</p>
                )}
              </td>
              <td className={CELL}>{formatBytes(model.memory_bytes)}</td>
              <td className={`${CELL} text-xs`}>{model.workers.join(', ') || '—'}</td>
              <td className={CELL}>
                <div className="flex flex-wrap gap-1">
                  {model.state === 'loaded' ? (
                    <Button variant="secondary" className="text-xs" disabled={busy} onClick={() => unload.mutate(model.name)} aria-label={`Unload ${model.name}`}>
                      Unload
                    </Button>
                  ) : (
                    <Button variant="secondary" className="text-xs" disabled={busy || !canLoad(model)} onClick={() => load.mutate(model.name)} aria-label={`Load ${model.name}`}>
                      Load
                    </Button>
                  )}
                  {isChatModel(model) && !model.default && (
                    <Button className="text-xs" disabled={busy || model.state === 'unavailable' || model.state === 'building'} onClick={() => makeDefault.mutate(model.name)} aria-label={`Make ${model.name} the default`}>
                      Make default
                    </Button>
                  )}
                </div>
              </td>
            </tr>
          ))}
        </Table>
      )}
    </Card>
  );
}
