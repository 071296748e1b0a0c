import { describe, expect, it } from 'vitest';
import type { ComparisonReply } from '@/lib/protocol';
import { comparisonsReducer, sideText, type LiveComparison } from './comparisons';

const reply = (slot: 'a' | 'b', content: string): ComparisonReply => ({
  slot, model: slot === 'a' ? 'smollm2' : 'chatgpt', job_id: `j${slot}`, status: 'complete', content, model_version: 'v',
  finish_reason: 'stop', prompt_tokens: 3, completion_tokens: 4, ttft_ms: 10, duration_ms: 20, user_emotion: null,
  reply_emotion: { label: 'joy', scores: { joy: 0.8 }, model: null, fusion: null }, alignment: 0.7, safety: null, error_code: null, error_message: null,
});

function started(): LiveComparison[] {
  let state = comparisonsReducer([], { type: 'sent', clientId: 'c1', content: 'hello' });
  state = comparisonsReducer(state, {
    type: 'frame',
    frame: { type: 'compare_ack', client_id: 'c1', comparison_id: 'cmp', duplicate: false, sides: [{ slot: 'a', model: 'smollm2', job_id: 'ja' }, { slot: 'b', model: 'chatgpt', job_id: 'jb' }] },
  });
  return state;
}

const token = (slot: 'a' | 'b', index: number, text: string) =>
  ({ type: 'frame', frame: { type: 'compare_token', comparison_id: 'cmp', slot, job_id: `j${slot}`, index, text, event_id: `${index}-0` } }) as const;

describe('comparisons reducer', () => {
  it('keeps each side apart, orders deltas by index and ignores replays', () => {
    let state = started();
    expect(state[0]!.phase).toBe('streaming');
    expect(state[0]!.sides.b.model).toBe('chatgpt');
    for (const action of [token('a', 1, ' there'), token('b', 0, 'Hey'), token('a', 0, 'Hi'), token('a', 1, ' there')]) {
      state = comparisonsReducer(state, action);
    }
    expect(sideText(state[0]!.sides.a)).toBe('Hi there');
    expect(sideText(state[0]!.sides.b)).toBe('Hey');
  });

  it('takes the stored replies on compare_done and a preference afterwards', () => {
    let state = comparisonsReducer(started(), token('a', 0, 'Hi'));
    state = comparisonsReducer(state, { type: 'frame', frame: { type: 'compare_error', comparison_id: 'cmp', slot: 'b', job_id: 'jb', code: 'remote_auth', message: 'bad key' } });
    const stored = { id: 'cmp', session_id: 's1', content: 'hello', created_at: '', preferred: null, adopted_message_id: null, replies: [reply('a', 'Hi!'), { ...reply('b', ''), status: 'error' as const, content: null, error_message: 'bad key' }] };
    state = comparisonsReducer(state, { type: 'frame', frame: { type: 'compare_done', comparison: stored } });
    expect(state[0]!.phase).toBe('done');
    expect(sideText(state[0]!.sides.a)).toBe('Hi!');
    expect(state[0]!.sides.b.error).toBe('bad key');
    state = comparisonsReducer(state, { type: 'preferred', comparison: { ...stored, preferred: 'a', adopted_message_id: 9 } });
    expect(state[0]!.preferred).toBe('a');
    expect(state[0]!.adoptedMessageId).toBe(9);
  });

  it('marks a rejected comparison failed with the reason', () => {
    const state = comparisonsReducer(comparisonsReducer([], { type: 'sent', clientId: 'c2', content: 'x' }), { type: 'rejected', clientId: 'c2', message: 'No second chat model' });
    expect(state[0]).toMatchObject({ phase: 'failed', error: 'No second chat model' });
  });
});
