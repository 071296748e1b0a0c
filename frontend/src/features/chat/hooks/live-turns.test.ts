import { describe, expect, it } from 'vitest';
import type { DoneFrame, MessagePublic } from '@/lib/protocol';
import { isStreaming, liveTurnsReducer, type LiveTurn, type LiveTurnAction } from './live-turns';

const run = (actions: LiveTurnAction[], start: LiveTurn[] = []) => actions.reduce(liveTurnsReducer, start);

const reply = { id: 11, role: 'assistant', content: 'I hear you.', status: 'complete', emotion: { label: 'caring', scores: { caring: 0.7 } } } as unknown as MessagePublic;
const safety = { crisis: false, toxic: false, reasons: [], resources: [] };
const done: DoneFrame = { type: 'done', job_id: 'j1', message: reply, cached: false, timings: { ttft_ms: 1, duration_ms: 2 }, safety, alignment: 0.9, finish_reason: 'stop', event_id: '5-0' };

describe('liveTurnsReducer', () => {
  it('follows a turn from send to done', () => {
    const turns = run([
      { type: 'sent', clientId: 'c1', content: 'I feel low' },
      { type: 'ack', frame: { type: 'ack', client_id: 'c1', message_id: 10, job_id: 'j1', duplicate: false } },
      { type: 'emotion', frame: { type: 'emotion', job_id: 'j1', message_id: 10, emotion: { label: 'sadness', scores: { sadness: 0.8 } }, event_id: '1-0' } },
      { type: 'delta', jobId: 'j1', text: 'I hear' },
      { type: 'delta', jobId: 'j1', text: ' you' },
    ]);
    expect(turns).toHaveLength(1);
    expect(turns[0]).toMatchObject({ userMessageId: 10, jobId: 'j1', replyText: 'I hear you', phase: 'streaming', emotion: { label: 'sadness' } });
    expect(isStreaming(turns[0]!)).toBe(true);

    const finished = liveTurnsReducer(turns, { type: 'done', frame: done });
    // The stored reply is the truth: it replaces the streamed text.
    expect(finished[0]).toMatchObject({ phase: 'done', replyText: 'I hear you.', alignment: 0.9, reply: { id: 11 } });
    expect(isStreaming(finished[0]!)).toBe(false);
  });

  it('marks the right turn failed on an error frame', () => {
    const turns = run([
      { type: 'sent', clientId: 'c1', content: 'first' },
      { type: 'sent', clientId: 'c2', content: 'x' },
      { type: 'error', frame: { type: 'error', code: 'rate_limited', message: 'Slow down', client_id: 'c2' } },
    ]);
    expect(turns.map((turn) => turn.phase)).toEqual(['sending', 'failed']);
    expect(turns[1]?.error).toBe('Slow down');
  });

  it('adds a resumed reply once and drops a lost one', () => {
    const resumed = { type: 'resumed', jobId: 'j9', userMessageId: 3 } as const;
    const turns = run([resumed, resumed, { type: 'delta', jobId: 'j9', text: 'back' }]);
    expect(turns).toHaveLength(1);
    expect(turns[0]).toMatchObject({ content: null, replyText: 'back', phase: 'streaming' });
    expect(liveTurnsReducer(turns, { type: 'lost', jobId: 'j9' })).toEqual([]);
  });
});
