import { describe, expect, it } from 'vitest';
import { isStreaming, liveTurnReducer, type LiveTurn, type LiveTurnAction } from './live-turn';

const run = (actions: LiveTurnAction[], start: LiveTurn | null = null) => actions.reduce(liveTurnReducer, start);
const ack = { type: 'ack', frame: { type: 'ack', client_id: 'c1', message_id: 10, job_id: 'j1', duplicate: false } } as const;

describe('liveTurnReducer', () => {
  it('follows a turn from send to done, and is over on done', () => {
    const turn = run([{ type: 'sent', clientId: 'c1', content: 'I feel low' }, ack, { type: 'delta', jobId: 'j1', text: 'I hear' }, { type: 'delta', jobId: 'j1', text: ' you' }]);
    expect(turn).toMatchObject({ userMessageId: 10, jobId: 'j1', replyText: 'I hear you', phase: 'streaming' });
    expect(isStreaming(turn)).toBe(true);
    // The stored reply joins the history: nothing of the turn stays live.
    expect(liveTurnReducer(turn, { type: 'done', jobId: 'j1' })).toBeNull();
    expect(liveTurnReducer(turn, { type: 'done', jobId: 'other' })).toBe(turn);
  });

  it('marks the turn failed on its error frame, and a new message replaces it', () => {
    const sent = run([{ type: 'sent', clientId: 'c1', content: 'x' }]);
    expect(liveTurnReducer(sent, { type: 'error', frame: { type: 'error', code: 'rate_limited', message: 'Slow down', client_id: 'c9' } })).toBe(sent);
    const failed = liveTurnReducer(sent, { type: 'error', frame: { type: 'error', code: 'rate_limited', message: 'Slow down', client_id: 'c1' } });
    expect(failed).toMatchObject({ phase: 'failed', error: 'Slow down' });
    expect(isStreaming(failed)).toBe(false);
    expect(liveTurnReducer(failed, { type: 'sent', clientId: 'c2', content: 'y' })).toMatchObject({ clientId: 'c2', content: 'y', phase: 'sending', error: null });
  });

  it('fails the reply of a stored message by its job id', () => {
    const turn = run([{ type: 'sent', clientId: 'c1', content: 'hi' }, ack, { type: 'error', frame: { type: 'error', code: 'generation_failed', message: 'No worker', job_id: 'j1' } }]);
    expect(turn).toMatchObject({ phase: 'failed', error: 'No worker', userMessageId: 10 });
  });

  it('follows a resumed reply once, keeps one the page still streams, and drops a lost one', () => {
    const resumed = { type: 'resumed', jobId: 'j9', userMessageId: 3 } as const;
    const turn = run([resumed, resumed, { type: 'delta', jobId: 'j9', text: 'back' }]);
    expect(turn).toMatchObject({ content: null, replyText: 'back', phase: 'streaming' });
    expect(liveTurnReducer(turn, { type: 'resumed', jobId: 'j8', userMessageId: 2 })).toBe(turn);
    expect(liveTurnReducer(turn, { type: 'lost', jobId: 'j9' })).toBeNull();
  });
});
