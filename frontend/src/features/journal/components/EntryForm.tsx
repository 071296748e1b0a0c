import { useState, type FormEvent } from 'react';
import { Button } from '@/components/Button';
import { ErrorAlert } from '@/components/ErrorAlert';
import { LengthLimit } from '@/components/LengthLimit';
import { useLimits } from '@/hooks/useLimits';
import { charCount } from '@/lib/limits';
import { useCreateEntry } from '../hooks/useJournal';

export function EntryForm() {
  const [text, setText] = useState('');
  const create = useCreateEntry();
  const limit = useLimits().data?.journal_chars;
  const trimmed = text.trim();
  const count = charCount(trimmed);
  const over = limit !== undefined && count > limit;
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (!trimmed || over) return;
    create.mutate(trimmed, { onSuccess: () => setText('') });
  };
  return (
    <form onSubmit={submit} className="flex flex-col gap-2">
      <label htmlFor="journal-text" className="text-sm font-medium text-slate-700">
        New entry
      </label>
      <textarea
        id="journal-text"
        rows={4}
        value={text}
        onChange={(event) => setText(event.target.value)}
        aria-invalid={over || undefined}
        aria-describedby="journal-text-length"
        placeholder="What happened today, and how did it feel?"
        className="rounded-md border border-slate-300 px-3 py-2 text-sm focus-visible:outline-2 focus-visible:outline-indigo-600"
      />
      <div className="flex items-start justify-between gap-2">
        {limit !== undefined ? <LengthLimit id="journal-text-length" count={count} limit={limit} noun="entry" always /> : <span />}
        <Button type="submit" disabled={create.isPending || !trimmed || over}>
          Save entry
        </Button>
      </div>
      <ErrorAlert error={create.error} />
    </form>
  );
}
