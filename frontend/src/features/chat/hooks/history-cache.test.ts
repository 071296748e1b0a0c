import { describe, expect, it } from 'vitest';
import { createQueryClient } from '@/lib/query-client';
import type { MessagePage, MessagePublic } from '@/lib/protocol';
import { chatKeys } from '../api/chat-api';
import { acknowledgedMessage, editHistory, withChangedMessage, withMessage, type CachedHistory } from './history-cache';

function message(id: number, role: MessagePublic['role'] = 'user'): MessagePublic {
  return {
    id, session_id: 's1', role, content: `m${id}`, model: null, cached: false, status: 'complete', created_at: '2026-01-01T00:00:00Z', client_id: null,
    reply_to_id: null, emotion: null, alignment: null, safety: null, extras: {}, latency_ms: null, ttft_ms: null, prompt_tokens: null, completion_tokens: null,
  };
}

const history = (...pages: MessagePublic[][]): CachedHistory => ({
  pages: pages.map((items, index) => ({ items, next_before: index < pages.length - 1 ? items[0]!.id : null })),
  pageParams: pages.map((_, index) => (index === 0 ? undefined : index)),
});
const ids = (cached: CachedHistory | undefined) => cached?.pages.map((page) => page.items.map((item) => item.id));
const key = chatKeys.messages('s1');

/** A fetch of the history whose answer the test gives. */
function fetchInFlight(queryClient: ReturnType<typeof createQueryClient>) {
  let answer: (page: MessagePage) => void = () => {};
  const page = new Promise<MessagePage>((resolve) => (answer = resolve));
  const done = queryClient.fetchInfiniteQuery({ queryKey: key, queryFn: () => page, initialPageParam: undefined as number | undefined });
  return { answer: async (items: MessagePublic[]) => (answer({ items, next_before: null }), await done) };
}

describe('history cache edits', () => {
  it('adds a message at the end of the newest page, once', () => {
    const older = [message(1), message(2, 'assistant')];
    const newest = [message(3), message(4, 'assistant')];
    const added = withMessage(history(newest, older), message(5));
    expect(ids(added)).toEqual([[3, 4, 5], [1, 2]]);
    expect(withMessage(added, message(5))).toBe(added);
    expect(withMessage(added, message(1))).toBe(added);
    expect(ids(withMessage(history(), message(1)))).toEqual([[1]]);
  });

  it('changes one message wherever it is', () => {
    const cached = history([message(3)], [message(1)]);
    const changed = withChangedMessage(cached, 1, (item) => ({ ...item, emotion: { label: 'joy', scores: { joy: 0.9 }, model: null, fusion: null } }));
    expect(changed.pages[1]?.items[0]?.emotion?.label).toBe('joy');
    expect(changed.pages[0]?.items[0]).toBe(cached.pages[0]?.items[0]);
    expect(withChangedMessage(cached, 99, (item) => item)).toBe(cached);
  });

  it('builds an acknowledged message in the shape the history returns', () => {
    const stored = acknowledgedMessage('s1', { type: 'ack', client_id: 'c1', message_id: 7, job_id: 'j1', duplicate: false }, 'hello');
    expect(Object.keys(stored).sort()).toEqual(Object.keys(message(1)).sort());
    expect(stored).toMatchObject({ id: 7, session_id: 's1', role: 'user', content: 'hello', client_id: 'c1', emotion: null });
  });

  it('edits the cached history at once when no fetch is in flight', () => {
    const queryClient = createQueryClient();
    queryClient.setQueryData(key, history([message(1)]));
    editHistory(queryClient, 's1', (cached) => withMessage(cached, message(2)));
    expect(ids(queryClient.getQueryData(key))).toEqual([[1, 2]]);
    // Nothing waits on: a later write is left as it is.
    queryClient.setQueryData(key, history([message(1)]));
    expect(ids(queryClient.getQueryData(key))).toEqual([[1]]);
  });

  it('makes the edit again on the answer of a fetch in flight, which was read without it', async () => {
    const queryClient = createQueryClient();
    queryClient.setQueryData(key, history([message(1)]));
    const refetch = fetchInFlight(queryClient);
    editHistory(queryClient, 's1', (cached) => withMessage(cached, message(2)));
    expect(ids(queryClient.getQueryData(key))).toEqual([[1, 2]]);
    await refetch.answer([message(1)]);
    expect(ids(queryClient.getQueryData(key))).toEqual([[1, 2]]);
  });

  it('waits for the first answer when nothing is cached yet', async () => {
    const queryClient = createQueryClient();
    const first = fetchInFlight(queryClient);
    editHistory(queryClient, 's1', (cached) => withMessage(cached, message(2)));
    expect(queryClient.getQueryData(key)).toBeUndefined();
    await first.answer([message(1)]);
    expect(ids(queryClient.getQueryData(key))).toEqual([[1, 2]]);
  });

  it('stops waiting when the page closes', async () => {
    const queryClient = createQueryClient();
    const closing = new AbortController();
    const first = fetchInFlight(queryClient);
    editHistory(queryClient, 's1', (cached) => withMessage(cached, message(2)), closing.signal);
    closing.abort();
    await first.answer([message(1)]);
    expect(ids(queryClient.getQueryData(key))).toEqual([[1]]);
  });
});
