import { hashKey, type InfiniteData, type QueryClient } from '@tanstack/react-query';
import type { AckFrame, MessagePage, MessagePublic } from '@/lib/protocol';
import { chatKeys } from '../api/chat-api';

/** A session's history as React Query caches it: `pages[0]` is the newest page, each page oldest→newest. */
export type CachedHistory = InfiniteData<MessagePage, number | undefined>;

const holds = (history: CachedHistory, id: number) => history.pages.some((page) => page.items.some((item) => item.id === id));

/** The history with `message` at its end, unless a page already holds it (as a refetch may). */
export function withMessage(history: CachedHistory, message: MessagePublic): CachedHistory {
  if (holds(history, message.id)) return history;
  const [newest, ...older] = history.pages;
  const items = [...(newest?.items ?? []), message];
  return { ...history, pages: [{ next_before: newest?.next_before ?? null, items }, ...older] };
}

/** The history with message `id` replaced by `change(message)`. */
export function withChangedMessage(history: CachedHistory, id: number, change: (message: MessagePublic) => MessagePublic): CachedHistory {
  if (!holds(history, id)) return history;
  const pages = history.pages.map((page) => ({ ...page, items: page.items.map((item) => (item.id === id ? change(item) : item)) }));
  return { ...history, pages };
}

/** The user message an `ack` says is stored, in the shape the history returns it (its time is the ack's). */
export function acknowledgedMessage(sessionId: string, frame: AckFrame, content: string): MessagePublic {
  return {
    id: frame.message_id,
    session_id: sessionId,
    role: 'user',
    content,
    model: null,
    cached: false,
    status: 'complete',
    created_at: new Date().toISOString(),
    client_id: frame.client_id,
    reply_to_id: null,
    emotion: null,
    alignment: null,
    safety: null,
    extras: {},
    latency_ms: null,
    ttft_ms: null,
    prompt_tokens: null,
    completion_tokens: null,
  };
}

/**
 * Applies `edit` to the session's cached history. A fetch in flight, or the first one when nothing
 * is cached yet, answers without the edit (its page was read before the message was stored, and a
 * message's emotion is stored only with its reply), so the edit is made again on its answer,
 * unless `signal` aborts first.
 */
export function editHistory(queryClient: QueryClient, sessionId: string, edit: (history: CachedHistory) => CachedHistory, signal?: AbortSignal): void {
  const queryKey = chatKeys.messages(sessionId);
  const apply = () => queryClient.setQueryData<CachedHistory>(queryKey, (history) => history && edit(history));
  apply();
  const state = queryClient.getQueryState(queryKey);
  if ((state?.fetchStatus === 'idle' && state.data !== undefined) || signal?.aborted) return;
  const queryHash = hashKey(queryKey);
  const unsubscribe = queryClient.getQueryCache().subscribe((event) => {
    if (event.type !== 'updated' || event.query.queryHash !== queryHash) return;
    const { action } = event;
    if (action.type === 'error') return stop();
    // A manual success is a cache write like this one, not the answer of the fetch.
    if (action.type !== 'success' || action.manual) return;
    stop();
    apply();
  });
  const stop = () => {
    unsubscribe();
    signal?.removeEventListener('abort', stop);
  };
  signal?.addEventListener('abort', stop);
}
