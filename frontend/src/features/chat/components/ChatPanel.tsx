import { useState } from 'react';
import { ErrorAlert } from '@/components/ErrorAlert';
import { Spinner } from '@/components/Spinner';
import type { SessionPublic } from '@/lib/protocol';
import { useChatStream, type FirstMessage } from '../hooks/useChatStream';
import { useMessageHistory } from '../hooks/useMessageHistory';
import { ComparisonCard } from './ComparisonCard';
import { CompareToggle } from './CompareToggle';
import { Composer } from './Composer';
import { ConnectionBadge } from './ConnectionBadge';
import { MessageList } from './MessageList';
import { ModelPicker } from './ModelPicker';
import { Welcome } from './Welcome';

export function ChatPanel({ session, firstMessage }: { session: SessionPublic; firstMessage?: FirstMessage }) {
  const history = useMessageHistory(session.id);
  const stream = useChatStream(session.id, firstMessage);
  const empty = history.messages.length === 0 && stream.turn === null && stream.comparisons.length === 0;
  const [compareMode, setCompareMode] = useState({ enabled: false, model: '' });
  const send = compareMode.enabled ? (text: string) => stream.compare(text, compareMode.model || undefined) : stream.send;
  return (
    <section aria-label={`Conversation: ${session.title}`} className="flex min-h-0 flex-1 flex-col">
      <header className="flex flex-wrap items-center justify-between gap-2 border-b border-slate-200 bg-white px-3 py-2">
        <h1 className="truncate text-base font-semibold">{session.title}</h1>
        <div className="flex flex-wrap items-center gap-3">
          <ModelPicker sessionId={session.id} model={session.model} />
          <CompareToggle enabled={compareMode.enabled} model={compareMode.model} onChange={(enabled, model) => setCompareMode({ enabled, model })} />
          <ConnectionBadge connection={stream.connection} />
        </div>
      </header>
      {stream.notice && <ErrorAlert error={new Error(stream.notice)} />}
      <ErrorAlert error={history.error} />
      {history.isPending ? (
        <div className="flex flex-1 items-center justify-center">
          <Spinner label="Loading conversation" />
        </div>
      ) : (
        <MessageList
          history={history.messages}
          turn={stream.turn}
          hasOlder={history.hasNextPage}
          loadingOlder={history.isFetchingNextPage}
          loadOlder={() => void history.fetchNextPage()}
        >
          {empty && <Welcome />}
          {stream.comparisons.map((comparison) => (
            <ComparisonCard
              key={comparison.clientId}
              comparison={comparison}
              sessionId={session.id}
              onChosen={(stored) => stream.dispatchComparison({ type: 'preferred', comparison: stored })}
            />
          ))}
        </MessageList>
      )}
      <Composer
        onSend={send}
        onStop={stream.stop}
        replying={stream.isReplying}
        disabled={stream.connection.status === 'not_found'}
        // Typing is what a chat is for; on a touch screen the keyboard waits for a tap.
        autoFocus={firstMessage !== undefined || !window.matchMedia?.('(pointer: coarse)').matches}
        allowPhoto={!compareMode.enabled}
      />
    </section>
  );
}
