import { useId } from 'react';
import { BuildProgress } from '@/components/BuildProgress';
import { formatBuild } from '@/lib/format';
import { useChatModels, useUpdateSession } from '../hooks/useSessions';

/** The session's model; "Server default" follows whatever the admin sets as default. Models a first
 * run is still building are listed, disabled, with their progress. */
export function ModelPicker({ sessionId, model }: { sessionId: string; model: string | null }) {
  const id = useId();
  const models = useChatModels();
  const update = useUpdateSession();
  const usable = models.data?.filter((candidate) => candidate.state === 'available' || candidate.state === 'loaded');
  const building = models.data?.filter((candidate) => candidate.state === 'building') ?? [];
  const defaultModel = models.data?.find((candidate) => candidate.default)?.name;
  const listed = models.data?.some((candidate) => candidate.name === model);
  return (
    <div className="flex flex-col gap-1 text-xs">
      <div className="flex items-center gap-1">
        <label htmlFor={id} className="text-slate-600">
          Model
        </label>
        <select
          id={id}
          value={model ?? ''}
          disabled={update.isPending}
          onChange={(event) => update.mutate({ id: sessionId, model: event.target.value || null })}
          className="rounded border border-slate-300 bg-white px-1 py-0.5 text-xs"
        >
          <option value="">Server default{defaultModel ? ` (${defaultModel})` : ''}</option>
          {model && !listed && <option value={model}>{model} (unavailable)</option>}
          {usable?.map((candidate) => (
            <option key={candidate.name} value={candidate.name} title={candidate.description ?? undefined}>
              {candidate.name}
            </option>
          ))}
          {building.map((candidate) => (
            <option key={candidate.name} value={candidate.name} disabled title={candidate.reason ?? undefined}>
              {candidate.name} ({formatBuild(candidate.progress, candidate.eta_s)})
            </option>
          ))}
        </select>
      </div>
      {building.length > 0 && (
        <div className="flex flex-col gap-0.5" aria-live="polite" data-testid="models-building">
          {building.map((candidate) => (
            <span key={candidate.name} className="flex items-center gap-1">
              <span className="font-medium">{candidate.name}</span>
              <BuildProgress name={candidate.name} progress={candidate.progress} etaSeconds={candidate.eta_s} />
            </span>
          ))}
        </div>
      )}
    </div>
  );
}
