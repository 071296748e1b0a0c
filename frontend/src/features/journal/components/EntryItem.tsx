import { useState } from 'react';
import { Button } from '@/components/Button';
import { EmotionBadge } from '@/components/EmotionBadge';
import { ErrorAlert } from '@/components/ErrorAlert';
import { LengthLimit } from '@/components/LengthLimit';
import { useLimits } from '@/hooks/useLimits';
import { formatDateTime } from '@/lib/format';
import { charCount } from '@/lib/limits';
import type { JournalEntryPublic } from '@/lib/protocol';
import { useDeleteEntry, useUpdateEntry } from '../hooks/useJournal';

function scoreTitle(entry: JournalEntryPublic): string | undefined {
  if (!entry.mood_scores) return undefined;
  return Object.entries(entry.mood_scores)
    .sort(([, a], [, b]) => b - a)
    .map(([mood, score]) => `${mood} ${(score * 100).toFixed(0)}%`)
    .join(', ');
}

/** Longer entries show their first lines until "Show all" is pressed, so one long entry does not fill the list. */
export const LONG_ENTRY_CHARS = 600;

export function EntryItem({ entry }: { entry: JournalEntryPublic }) {
  const [editing, setEditing] = useState(false);
  const [expanded, setExpanded] = useState(false);
  const long = entry.text.length > LONG_ENTRY_CHARS;
  const [draft, setDraft] = useState(entry.text);
  const update = useUpdateEntry();
  const remove = useDeleteEntry();
  const limit = useLimits().data?.journal_chars;
  const count = charCount(draft.trim());
  const over = limit !== undefined && count > limit;

  const save = () => update.mutate({ id: entry.id, text: draft.trim() }, { onSuccess: () => setEditing(false) });
  const onDelete = () => window.confirm('Delete this entry?') && remove.mutate(entry.id);

  return (
    <li className="rounded-lg border border-slate-200 bg-white p-3 shadow-sm" data-testid="journal-entry" data-mood={entry.mood}>
      <div className="mb-2 flex flex-wrap items-center justify-between gap-2">
        <div className="flex items-center gap-2">
          <EmotionBadge label={entry.mood === 'pending' ? 'tagging…' : entry.mood} title={scoreTitle(entry)} />
          <time dateTime={entry.created_at} className="text-xs text-slate-500">
            {formatDateTime(entry.created_at)}
          </time>
        </div>
        {!editing && (
          <div className="flex gap-1">
            <Button variant="ghost" className="text-xs" onClick={() => { setDraft(entry.text); setEditing(true); }}>
              Edit
            </Button>
            <Button variant="ghost" className="text-xs text-rose-700" onClick={onDelete} disabled={remove.isPending}>
              Delete
            </Button>
          </div>
        )}
      </div>
      {editing ? (
        <div className="flex flex-col gap-2">
          <label htmlFor={`edit-${entry.id}`} className="sr-only">
            Edit entry
          </label>
          <textarea
            id={`edit-${entry.id}`}
            rows={4}
            value={draft}
            onChange={(e) => setDraft(e.target.value)}
            aria-invalid={over || undefined}
            aria-describedby={`edit-${entry.id}-length`}
            className="rounded-md border border-slate-300 px-3 py-2 text-sm focus-visible:outline-2 focus-visible:outline-indigo-600"
          />
          {limit !== undefined && <LengthLimit id={`edit-${entry.id}-length`} count={count} limit={limit} noun="entry" always />}
          <div className="flex gap-2">
            <Button onClick={save} disabled={update.isPending || !draft.trim() || over}>
              Save
            </Button>
            <Button variant="secondary" onClick={() => setEditing(false)}>
              Cancel
            </Button>
          </div>
        </div>
      ) : (
        <>
          <p id={`entry-${entry.id}-text`} className={`whitespace-pre-wrap break-words text-sm ${long && !expanded ? 'line-clamp-6' : ''}`}>
            {entry.text}
          </p>
          {long && (
            <Button variant="ghost" className="mt-1 px-1.5 text-xs" aria-expanded={expanded} aria-controls={`entry-${entry.id}-text`} onClick={() => setExpanded(!expanded)}>
              {expanded ? 'Show less' : 'Show all'}
            </Button>
          )}
        </>
      )}
      <ErrorAlert error={update.error ?? remove.error} />
    </li>
  );
}
