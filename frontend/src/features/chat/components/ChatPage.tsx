import { useEffect, useState } from 'react';
import { Navigate, useNavigate, useParams } from 'react-router-dom';
import { Button } from '@/components/Button';
import { Spinner } from '@/components/Spinner';
import { newClientId } from '@/lib/ids';
import type { FirstMessage } from '../hooks/useChatStream';
import { useCreateSession, useSessions } from '../hooks/useSessions';
import { ChatPanel } from './ChatPanel';
import { ConversationsDrawer } from './ConversationsDrawer';
import { SessionList } from './SessionList';
import { StartConversation } from './StartConversation';

/** A first message typed on the welcome screen; `sessionId` is null until its session is created. */
interface Opening extends FirstMessage {
  sessionId: string | null;
}

export function ChatPage() {
  const { sessionId } = useParams();
  const sessions = useSessions();
  const create = useCreateSession();
  const navigate = useNavigate();
  const [opening, setOpening] = useState<Opening | null>(null);
  const [draft, setDraft] = useState<string | undefined>();
  const [drawerOpen, setDrawerOpen] = useState(false);
  const session = sessions.data?.items.find((candidate) => candidate.id === sessionId);
  const newest = sessions.data?.items[0];

  // Sending creates the conversation; the message goes out once its socket is open.
  const start = (text: string) => {
    const pending = { clientId: newClientId(), text, sessionId: null };
    setOpening(pending);
    create.mutate(
      {},
      {
        onSuccess: (created) => {
          setOpening({ ...pending, sessionId: created.id });
          navigate(`/chat/${created.id}`);
        },
        onError: () => {
          setOpening(null);
          setDraft(text);
        },
      },
    );
  };

  // Leaving the new conversation for another one: coming back must not send the first message again.
  useEffect(() => {
    if (opening?.sessionId && sessionId && sessionId !== opening.sessionId) setOpening(null);
  }, [opening, sessionId]);

  let main;
  if (sessions.isPending) main = <Spinner />;
  else if (session) main = <ChatPanel key={session.id} session={session} firstMessage={opening?.sessionId === session.id ? opening : undefined} />;
  else if (!sessionId && newest && !opening) return <Navigate to={`/chat/${newest.id}`} replace />;
  else if (!sessionId) main = <StartConversation onSend={start} sending={opening !== null} error={create.error} draft={draft} />;
  else main = <p className="p-6 text-slate-600">This conversation does not exist (any more).</p>;

  return (
    <div className="flex min-h-0 flex-1 flex-col md:flex-row">
      <SessionList activeId={sessionId} className="hidden border-r border-slate-200 md:flex md:w-72" />
      <ConversationsDrawer activeId={sessionId} open={drawerOpen} onClose={() => setDrawerOpen(false)} />
      <div className="flex min-h-0 flex-1 flex-col">
        <div className="border-b border-slate-200 bg-white px-3 py-1.5 md:hidden">
          <Button variant="secondary" aria-haspopup="dialog" aria-expanded={drawerOpen} aria-controls="conversations-drawer" onClick={() => setDrawerOpen(true)}>
            <span aria-hidden="true">☰</span> Conversations
          </Button>
        </div>
        {main}
      </div>
    </div>
  );
}
