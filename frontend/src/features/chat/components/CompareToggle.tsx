import { useId } from 'react';
import { useUsableModels } from '../hooks/useSessions';

/** Compare mode: the next message goes to the session's model and to `model` side by side. */
export function CompareToggle({ enabled, model, onChange }: { enabled: boolean; model: string; onChange: (enabled: boolean, model: string) => void }) {
  const id = useId();
  const models = useUsableModels();
  return (
    <div className="flex items-center gap-1 text-xs">
      <input id={`${id}-on`} type="checkbox" checked={enabled} onChange={(event) => onChange(event.target.checked, model)} className="h-3.5 w-3.5 accent-indigo-600" />
      <label htmlFor={`${id}-on`} className="text-slate-600">
        Compare with
      </label>
      <label htmlFor={`${id}-model`} className="sr-only">
        Second model
      </label>
      <select
        id={`${id}-model`}
        value={model}
        disabled={!enabled}
        onChange={(event) => onChange(enabled, event.target.value)}
        className="rounded border border-slate-300 bg-white px-1 py-0.5 text-xs focus-visible:outline-2 focus-visible:outline-indigo-600 disabled:text-slate-400"
      >
        <option value="">Server's choice</option>
        {models.data?.map((candidate) => (
          <option key={candidate.name} value={candidate.name}>
            {candidate.name}
          </option>
        ))}
      </select>
    </div>
  );
}
