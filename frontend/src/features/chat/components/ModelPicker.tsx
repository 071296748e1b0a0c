import { useId } from 'react';
import { useUpdateSession, useUsableModels } from '../hooks/useSessions';

/** The session's model; "Server default" follows whatever the admin sets as default. */
export function ModelPicker({ sessionId, model }: { sessionId: string; model: string | null }) {
  const id = useId();
  const models = useUsableModels();
  const update = useUpdateSession();
  const defaultModel = models.data?.find((candidate) => candidate.default)?.name;
  const listed = models.data?.some((candidate) => candidate.name === model);
  return (
    <div className="flex items-center gap-1 text-xs">
      <label htmlFor={id} className="text-slate-600">
        Model
      </label>
      <select
        id={id}
        value={model ?? ''}
        disabled={update.isPending}
        onChange={(event) => update.mutate({ id: sessionId, model: event.target.value || null })}
        className="rounded border border-slate-300 bg-white px-1 py-0.5 text-xs focus-visible:outline-2 focus-visible:outline-indigo-600"
      >
        <option value="">Server default{defaultModel ? ` (${defaultModel})` : ''}</option>
        {model && !listed && <option value={model}>{model} (unavailable)</option>}
        {models.data?.map((candidate) => (
          <option key={candidate.name} value={candidate.name} title={candidate.description ?? undefined}>
            {candidate.name}
          </option>
        ))}
      </select>
    </div>
  );
}
