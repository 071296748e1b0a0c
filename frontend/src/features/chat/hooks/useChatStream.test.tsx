import { QueryClientProvider } from '@tanstack/react-query';
import { act, renderHook } from '@testing-library/react';
import type { ReactNode } from 'react';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createQueryClient } from '@/lib/query-client';
import type { MessageFrame, MessagePublic } from '@/lib/protocol';
import { installFakeChatServer, uninstallFakeChatServer, type FakeChatServer } from '@/test/fake-chat-server';
import { chatKeys } from '../api/chat-api';
import type { CachedHistory } from './history-cache';
import { useChatStream } from './useChatStream';

function message(id: number, role: MessagePublic['role'], content: string, extra: Partial<MessagePublic> = {}): MessagePublic {
  return {
    id, session_id: 's1', role, content, model: null, cached: false, status: 'complete', created_at: '2026-01-01T00:00:00Z', client_id: null,
    reply_to_id: null, emotion: null, alignment: null, safety: null, extras: {}, latency_ms: null, ttft_ms: null, prompt_tokens: null, completion_tokens: null, ...extra,
  };
}

const CLEAR = { crisis: false, toxic: false, level: 'none' as const, reasons: [], resources: [], language: null, session_risk: false, fixed_reply: false };
const sadness = { label: 'sadness', scores: { sadness: 0.8 }, model: null, fusion: null };

let server: FakeChatServer;
beforeEach(() => {
  server = installFakeChatServer();
});
afterEach(uninstallFakeChatServer);

/** The hook on a session whose history is cached, as ChatPanel has it once the history loaded. */
function renderStream(history: MessagePublic[]) {
  const queryClient = createQueryClient();
  queryClient.setQueryData<CachedHistory>(chatKeys.messages('s1'), { pages: [{ items: history, next_before: null }], pageParams: [undefined] });
  const wrapper = ({ children }: { children: ReactNode }) => <QueryClientProvider client={queryClient}>{children}</QueryClientProvider>;
  const { result } = renderHook(() => useChatStream('s1'), { wrapper });
  const cached = () => queryClient.getQueryData<CachedHistory>(chatKeys.messages('s1'))!.pages.flatMap((page) => page.items);
  return { result, cached };
}

describe('useChatStream', () => {
  it('keeps finished messages in the history cache only: the ack stores the message, done puts the reply there once and ends the live turn', () => {
    const { result, cached } = renderStream([message(1, 'user', 'hello'), message(2, 'assistant', 'Hi', { reply_to_id: 1 })]);
    act(() => server.handshake());
    act(() => result.current.send('I feel low'));
    const clientId = (server.sentBy().find((frame) => frame.type === 'message') as MessageFrame).client_id;
    expect(result.current.turn).toMatchObject({ content: 'I feel low', phase: 'sending' });
    expect(cached()).toHaveLength(2);

    act(() => {
      server.push({ type: 'ack', client_id: clientId, message_id: 3, job_id: 'j1', duplicate: false });
      server.push({ type: 'emotion', job_id: 'j1', message_id: 3, emotion: sadness, event_id: '1-0' });
      server.push({ type: 'token', job_id: 'j1', index: 0, text: 'That sounds hard', event_id: '2-0' });
    });
    expect(cached().at(-1)).toMatchObject({ id: 3, role: 'user', content: 'I feel low', client_id: clientId, emotion: sadness });
    expect(result.current.turn).toMatchObject({ userMessageId: 3, replyText: 'That sounds hard', phase: 'streaming' });
    expect(result.current.isReplying).toBe(true);

    const reply = message(4, 'assistant', 'That sounds hard.', { reply_to_id: 3, alignment: 0.8, safety: CLEAR });
    const done = { type: 'done', job_id: 'j1', message: reply, cached: false, timings: { ttft_ms: 1, duration_ms: 2 }, safety: CLEAR, alignment: 0.8, finish_reason: 'stop', event_id: '3-0' } as const;
    act(() => server.push(done));
    expect(cached().map((item) => item.id)).toEqual([1, 2, 3, 4]);
    expect(cached().at(-1)).toEqual(reply);
    expect(result.current.turn).toBeNull();
    expect(result.current.isReplying).toBe(false);

    // A done delivered again (a resume after a reconnect) adds nothing.
    act(() => server.push({ ...done, event_id: '4-0' }));
    expect(cached().map((item) => item.id)).toEqual([1, 2, 3, 4]);
  });

  it('gives the message of a resumed reply, already in history, the emotion the stream brings', () => {
    const { result, cached } = renderStream([message(1, 'user', 'I failed my test')]);
    act(() => server.handshake([{ job_id: 'j1', user_message_id: 1 }]));
    act(() => server.push({ type: 'emotion', job_id: 'j1', message_id: 1, emotion: sadness, event_id: '1-0' }));
    expect(cached()).toEqual([message(1, 'user', 'I failed my test', { emotion: sadness })]);
    expect(result.current.turn).toMatchObject({ jobId: 'j1', content: null, phase: 'streaming' });
  });
});
