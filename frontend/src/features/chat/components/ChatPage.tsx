import { Navigate, useParams } from 'react-router-dom';
import { Spinner } from '@/components/Spinner';
import { useSessions } from '../hooks/useSessions';
import { ChatPanel } from './ChatPanel';
import { SessionList } from './SessionList';

export function ChatPage() {
  const { sessionId } = useParams();
  const sessions = useSessions();
  const session = sessions.data?.items.find((candidate) => candidate.id === sessionId);
  const newest = sessions.data?.items[0];

  let main;
  if (sessions.isPending) main = <Spinner />;
  else if (session) main = <ChatPanel key={session.id} session={session} />;
  else if (!sessionId && newest) return <Navigate to={`/chat/${newest.id}`} replace />;
  else main = <p className="p-6 text-slate-600">{sessionId ? 'This conversation does not exist (any more).' : 'Start a new conversation to talk with Attune.'}</p>;

  return (
    <div className="flex min-h-0 flex-1 flex-col md:flex-row">
      <SessionList activeId={sessionId} />
      <div className="flex min-h-0 flex-1 flex-col">{main}</div>
    </div>
  );
}
