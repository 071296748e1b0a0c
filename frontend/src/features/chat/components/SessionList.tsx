import { useState, type FormEvent } from 'react';
import { NavLink, useNavigate } from 'react-router-dom';
import { Button } from '@/components/Button';
import { ErrorAlert } from '@/components/ErrorAlert';
import { INPUT_CLASS } from '@/components/Field';
import { Spinner } from '@/components/Spinner';
import type { SessionPublic } from '@/lib/protocol';
import { useCreateSession, useDeleteSession, useSessions, useUpdateSession } from '../hooks/useSessions';

function SessionItem({ session, active, onPick }: { session: SessionPublic; active: boolean; onPick?: () => void }) {
  const [editing, setEditing] = useState(false);
  const [title, setTitle] = useState(session.title);
  const rename = useUpdateSession();
  const remove = useDeleteSession();
  const navigate = useNavigate();

  const save = (event: FormEvent) => {
    event.preventDefault();
    const next = title.trim();
    if (next && next !== session.title) rename.mutate({ id: session.id, title: next });
    setEditing(false);
  };

  const onDelete = () => {
    if (!window.confirm(`Delete "${session.title}" and all its messages?`)) return;
    remove.mutate(session.id, { onSuccess: () => active && navigate('/chat') });
  };

  if (editing) {
    return (
      <li>
        <form onSubmit={save} className="flex gap-1 p-1">
          <label htmlFor={`rename-${session.id}`} className="sr-only">
            New title
          </label>
          <input id={`rename-${session.id}`} autoFocus className={INPUT_CLASS} value={title} maxLength={200} onChange={(e) => setTitle(e.target.value)} onKeyDown={(e) => e.key === 'Escape' && setEditing(false)} />
          <Button type="submit" variant="secondary">
            Save
          </Button>
        </form>
      </li>
    );
  }
  return (
    <li className={`group flex items-center gap-1 rounded-md ${active ? 'bg-indigo-100' : 'hover:bg-slate-100'}`}>
      <NavLink to={`/chat/${session.id}`} className="min-w-0 flex-1 truncate px-2 py-2 text-sm focus-visible:outline-2 focus-visible:outline-indigo-600" aria-current={active ? 'page' : undefined} onClick={onPick}>
        {session.title}
      </NavLink>
      <Button variant="ghost" className="px-1.5 text-xs" aria-label={`Rename ${session.title}`} onClick={() => { setTitle(session.title); setEditing(true); }}>
        Rename
      </Button>
      <Button variant="ghost" className="px-1.5 text-xs text-rose-700" aria-label={`Delete ${session.title}`} onClick={onDelete} disabled={remove.isPending}>
        Delete
      </Button>
    </li>
  );
}

/** The conversations: a sidebar from tablet width up, the content of the drawer on a phone (`ChatPage`).
 * `onPick` hears that the person opened or started one (the drawer then closes). */
export function SessionList({ activeId, onPick, className = '' }: { activeId: string | undefined; onPick?: () => void; className?: string }) {
  const sessions = useSessions();
  const create = useCreateSession();
  const navigate = useNavigate();

  const startNew = () =>
    create.mutate(
      {},
      {
        onSuccess: (session) => {
          navigate(`/chat/${session.id}`);
          onPick?.();
        },
      },
    );

  return (
    <nav aria-label="Conversations" className={`flex flex-col gap-2 bg-white p-3 ${className}`}>
      <Button onClick={startNew} disabled={create.isPending}>
        New conversation
      </Button>
      <ErrorAlert error={create.error ?? sessions.error} />
      {sessions.isPending && <Spinner />}
      {sessions.data?.items.length === 0 ? (
        <p className="text-sm text-slate-500">No conversations yet: your first message starts one.</p>
      ) : (
        <ul className="flex-1 space-y-0.5 overflow-y-auto">
          {sessions.data?.items.map((session) => (
            <SessionItem key={session.id} session={session} active={session.id === activeId} onPick={onPick} />
          ))}
        </ul>
      )}
    </nav>
  );
}
