import { useLayoutEffect, useRef, type ReactNode } from 'react';
import { Button } from '@/components/Button';
import { Spinner } from '@/components/Spinner';
import type { MessagePublic, SafetyVerdict } from '@/lib/protocol';
import type { LiveTurn } from '../hooks/live-turns';
import { finishReasonOf, MessageBubble } from './MessageBubble';

interface Props {
  history: MessagePublic[];
  turns: LiveTurn[];
  hasOlder: boolean;
  loadingOlder: boolean;
  loadOlder: () => void;
  /** Shown after the conversation, e.g. comparisons made on this page. */
  children?: ReactNode;
}

const NEAR_EDGE_PX = 80;

/** The safety verdict on a user message, which travels with its reply; `undefined` until that arrives. */
function userVerdict(reply: MessagePublic | undefined, turn: LiveTurn | undefined): SafetyVerdict | null | undefined {
  if (reply) return reply.safety;
  return turn?.phase === 'done' ? turn.safety : undefined;
}

export function MessageList({ history, turns, hasOlder, loadingOlder, loadOlder, children }: Props) {
  const scroller = useRef<HTMLDivElement>(null);
  const stickToBottom = useRef(true);
  const heightBeforePrepend = useRef<number | null>(null);
  const oldestId = history[0]?.id;

  const requestOlder = () => {
    if (!hasOlder || loadingOlder || !scroller.current) return;
    heightBeforePrepend.current = scroller.current.scrollHeight;
    loadOlder();
  };

  const onScroll = () => {
    const el = scroller.current;
    if (!el) return;
    stickToBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < NEAR_EDGE_PX;
    if (el.scrollTop < NEAR_EDGE_PX) requestOlder();
  };

  // Older messages were prepended: keep the messages the reader was looking at in place.
  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el || heightBeforePrepend.current === null) return;
    el.scrollTop += el.scrollHeight - heightBeforePrepend.current;
    heightBeforePrepend.current = null;
  }, [oldestId]);

  // New messages or tokens: follow them, unless the reader scrolled up to read older ones.
  useLayoutEffect(() => {
    const el = scroller.current;
    if (el && stickToBottom.current) el.scrollTop = el.scrollHeight;
  });

  const historyIds = new Set(history.map((message) => message.id));
  const replies = new Map(history.filter((message) => message.reply_to_id !== null).map((message) => [message.reply_to_id, message]));
  const turnOf = new Map(turns.filter((turn) => turn.userMessageId !== null).map((turn) => [turn.userMessageId, turn]));
  return (
    <div ref={scroller} onScroll={onScroll} className="flex-1 overflow-y-auto px-3 py-4" aria-label="Conversation" role="log" aria-live="polite" aria-busy={loadingOlder}>
      <div className="mb-3 flex justify-center">
        {loadingOlder ? (
          <Spinner label="Loading earlier messages" />
        ) : hasOlder ? (
          <Button variant="ghost" onClick={requestOlder}>
            Load earlier messages
          </Button>
        ) : history.length > 0 ? (
          <p className="text-xs text-slate-500">Beginning of the conversation</p>
        ) : null}
      </div>
      <div className="flex flex-col gap-3">
        {history.map((message) => (
          <MessageBubble
            key={message.id}
            role={message.role}
            content={message.content}
            // A message fetched while its reply was being written was stored without its emotion
            // and verdict (both are written with the reply): the live turn carries them.
            emotion={message.emotion ?? turnOf.get(message.id)?.emotion}
            alignment={message.alignment}
            safety={message.role === 'user' ? userVerdict(replies.get(message.id), turnOf.get(message.id)) : message.safety}
            status={message.status}
            model={message.model}
            cached={message.cached}
            finishReason={finishReasonOf(message)}
          />
        ))}
        {turns.map((turn, position) => {
          const showUser = turn.content !== null && (turn.userMessageId === null || !historyIds.has(turn.userMessageId));
          const showReply = turn.phase !== 'sending' && !(turn.reply && historyIds.has(turn.reply.id));
          const streaming = turn.phase === 'streaming';
          return (
            <div key={turn.clientId ?? turn.jobId ?? position} className="flex flex-col gap-3">
              {showUser && <MessageBubble role="user" content={turn.content ?? ''} emotion={turn.emotion} safety={userVerdict(undefined, turn)} error={turn.phase === 'failed' && !turn.jobId ? turn.error : null} />}
              {showReply && (turn.phase !== 'failed' || turn.jobId) && (
                <MessageBubble
                  role="assistant"
                  content={turn.replyText}
                  emotion={turn.reply?.emotion}
                  alignment={turn.alignment}
                  safety={turn.safety}
                  status={turn.reply?.status}
                  model={turn.reply?.model}
                  cached={turn.reply?.cached}
                  streaming={streaming}
                  finishReason={finishReasonOf(turn.reply)}
                  error={turn.phase === 'failed' ? turn.error : null}
                />
              )}
            </div>
          );
        })}
        {children}
      </div>
    </div>
  );
}
