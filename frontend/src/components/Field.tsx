import { useId, type InputHTMLAttributes, type ReactNode } from 'react';

export const INPUT_CLASS =
  'w-full rounded-md border border-slate-300 bg-white px-3 py-2 text-sm focus-visible:border-indigo-600 focus-visible:outline-2 focus-visible:outline-indigo-600';

/** A labelled input; the label is always visible, so screen readers and sighted users agree. */
export function Field({ label, hint, ...props }: InputHTMLAttributes<HTMLInputElement> & { label: string; hint?: ReactNode }) {
  const id = useId();
  return (
    <div className="flex flex-col gap-1">
      <label htmlFor={id} className="text-sm font-medium text-slate-700">
        {label}
      </label>
      <input id={id} className={INPUT_CLASS} {...props} />
      {hint && <p className="text-xs text-slate-500">{hint}</p>}
    </div>
  );
}
