import { useLayoutEffect, useRef, type ReactNode } from 'react';
import { Button } from '@/components/Button';
import { Spinner } from '@/components/Spinner';
import type { MessagePublic, SafetyVerdict } from '@/lib/protocol';
import type { LiveTurn } from '../hooks/live-turn';
import { finishReasonOf, MessageBubble } from './MessageBubble';

interface Props {
  history: MessagePublic[];
  /** What of the exchange on this page is not stored yet; it follows the history. */
  turn: LiveTurn | null;
  hasOlder: boolean;
  loadingOlder: boolean;
  loadOlder: () => void;
  /** Shown after the conversation, e.g. comparisons made on this page. */
  children?: ReactNode;
}

const NEAR_EDGE_PX = 80;

/** The safety verdict on a user message, which travels with its reply; `undefined` until that arrives. */
const userVerdict = (reply: MessagePublic | undefined): SafetyVerdict | null | undefined => reply?.safety;

export function MessageList({ history, turn, hasOlder, loadingOlder, loadOlder, children }: Props) {
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

  const replies = new Map(history.filter((message) => message.reply_to_id !== null).map((message) => [message.reply_to_id, message]));
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
        {[...history.map((message) => storedBubble(message, replies.get(message.id))), ...liveBubbles(turn)]}
        {children}
      </div>
    </div>
  );
}

/**
 * A user message is keyed by its client id in the live turn and in the history alike, so the bubble
 * the person saw on sending stays the same element when the server stores it (a screen reader does
 * not announce it twice).
 */
function storedBubble(message: MessagePublic, reply: MessagePublic | undefined): ReactNode {
  return (
    <MessageBubble
      key={message.client_id ?? `message-${message.id}`}
      role={message.role}
      content={message.content}
      emotion={message.emotion}
      alignment={message.alignment}
      safety={message.role === 'user' ? userVerdict(reply) : message.safety}
      status={message.status}
      model={message.model}
      cached={message.cached}
      finishReason={finishReasonOf(message)}
    />
  );
}

/** The live turn: the user's message until the server stores it, and the reply until it is done. */
function liveBubbles(turn: LiveTurn | null): ReactNode[] {
  if (!turn) return [];
  const failed = turn.phase === 'failed';
  const bubbles: ReactNode[] = [];
  if (turn.userMessageId === null && turn.content !== null) {
    bubbles.push(<MessageBubble key={turn.clientId} role="user" content={turn.content} error={failed && !turn.jobId ? turn.error : null} />);
  }
  if (turn.jobId !== null) {
    bubbles.push(<MessageBubble key={`reply-${turn.jobId}`} role="assistant" content={turn.replyText} streaming={turn.phase === 'streaming'} error={failed ? turn.error : null} />);
  }
  return bubbles;
}
