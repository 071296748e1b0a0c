import { useState, type FormEvent } from 'react';
import { Button } from '@/components/Button';
import { ErrorAlert } from '@/components/ErrorAlert';
import { useCreateEntry } from '../hooks/useJournal';

export const MAX_ENTRY = 10_000;

export function EntryForm() {
  const [text, setText] = useState('');
  const create = useCreateEntry();
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (!text.trim()) return;
    create.mutate(text.trim(), { onSuccess: () => setText('') });
  };
  return (
    <form onSubmit={submit} className="flex flex-col gap-2">
      <label htmlFor="journal-text" className="text-sm font-medium text-slate-700">
        New entry
      </label>
      <textarea
        id="journal-text"
        rows={4}
        maxLength={MAX_ENTRY}
        value={text}
        onChange={(event) => setText(event.target.value)}
        placeholder="What happened today, and how did it feel?"
        className="rounded-md border border-slate-300 px-3 py-2 text-sm focus-visible:outline-2 focus-visible:outline-indigo-600"
      />
      <div className="flex items-center justify-between gap-2">
        <span className="text-xs text-slate-500">
          {text.length.toLocaleString()} / {MAX_ENTRY.toLocaleString()}
        </span>
        <Button type="submit" disabled={create.isPending || !text.trim()}>
          Save entry
        </Button>
      </div>
      <ErrorAlert error={create.error} />
    </form>
  );
}
