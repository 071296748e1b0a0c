import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { DoneFrame, MessagePublic } from '../protocol';
import { backoffDelay } from './backoff';
import { ChatSocket, type ChatSocketEvent } from './chat-socket';
import { FakeChatServer } from '@/test/fake-chat-server';

const BACKOFF = { initialMs: 100, maxMs: 1_000, factor: 2 };

function setup(random = () => 0.5) {
  const server = new FakeChatServer();
  const events: ChatSocketEvent[] = [];
  const client = new ChatSocket({
    url: 'ws://test/ws/chat/s1',
    getToken: () => 'secret-token',
    createSocket: server.createSocket,
    backoff: BACKOFF,
    random,
    pingIntervalMs: 1_000,
    pongTimeoutMs: 500,
  });
  client.subscribe((event) => events.push(event));
  const text = () => events.flatMap((e) => (e.type === 'delta' ? [e.text] : [])).join('');
  const statuses = () => events.flatMap((e) => (e.type === 'status' ? [e.status] : []));
  return { server, client, events, text, statuses };
}

/** A connected client whose message `content` (client_id c1) the server has acknowledged as job-1. */
function acknowledged(content: string) {
  const connected = setup();
  connected.client.connect();
  connected.server.handshake();
  connected.client.sendMessage(content, { clientId: 'c1' });
  connected.server.push({ type: 'ack', client_id: 'c1', message_id: 1, job_id: 'job-1', duplicate: false });
  return connected;
}

function token(index: number, text: string, jobId = 'job-1') {
  return { type: 'token' as const, job_id: jobId, index, text, event_id: `${index + 10}-0` };
}

function doneFrame(jobId: string, content: string, status: MessagePublic['status'] = 'complete'): DoneFrame {
  const message = { id: 2, session_id: 's1', role: 'assistant', content, status } as MessagePublic;
  const safety = { crisis: false, toxic: false, reasons: [], resources: [], level: 'none' as const, language: null, session_risk: false, fixed_reply: false };
  return { type: 'done', job_id: jobId, message, cached: false, timings: { ttft_ms: 5, duration_ms: 9 }, safety, alignment: 0.8, finish_reason: 'stop', event_id: '99-0' };
}

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe('ChatSocket', () => {
  it('sends the auth frame first and nothing before the server is ready', () => {
    const { server, client, statuses } = setup();
    client.connect();
    client.sendMessage('hello', { clientId: 'c1' });
    server.accept();
    expect(server.sentBy()).toEqual([{ type: 'auth', token: 'secret-token' }]);
    server.push({ type: 'ready', protocol: 1, session_id: 's1', model: null, in_flight: [] });
    expect(server.sentBy()).toEqual([
      { type: 'auth', token: 'secret-token' },
      { type: 'message', client_id: 'c1', content: 'hello' },
    ]);
    expect(statuses()).toEqual(['connecting', 'open']);
  });

  it('releases deltas in index order, once each', () => {
    const { server, text, events } = acknowledged('hi');
    server.push(token(0, 'Hel'));
    server.push(token(2, ' there'));
    expect(text()).toBe('Hel');
    server.push(token(1, 'lo'));
    server.push(token(1, 'lo'));
    server.push(token(0, 'Hel'));
    expect(text()).toBe('Hello there');
    const indexes = events.flatMap((e) => (e.type === 'delta' ? [e.index] : []));
    expect(indexes).toEqual([0, 1, 2]);
  });

  it('reconnects with growing, jittered, capped delays and resets after a successful connect', () => {
    const { server, client, statuses } = setup(() => 0);
    client.connect();
    server.handshake();
    const delays: number[] = [];
    for (let attempt = 0; attempt < 6; attempt += 1) {
      const before = server.sockets.length;
      server.drop();
      const delay = backoffDelay(attempt, BACKOFF, () => 0);
      delays.push(delay);
      vi.advanceTimersByTime(delay - 1);
      expect(server.sockets.length, `attempt ${attempt} waits ${delay} ms`).toBe(before);
      vi.advanceTimersByTime(1);
      expect(server.sockets.length).toBe(before + 1);
    }
    expect(delays).toEqual([50, 100, 200, 400, 500, 500]);
    server.handshake();
    expect(statuses().at(-1)).toBe('open');
    server.drop();
    vi.advanceTimersByTime(50);
    expect(server.sockets.length).toBe(8);
  });

  it('spreads reconnect delays with jitter between half and all of the ceiling', () => {
    expect(backoffDelay(3, BACKOFF, () => 0)).toBe(400);
    expect(backoffDelay(3, BACKOFF, () => 0.999)).toBeCloseTo(799.6);
  });

  it('resumes a reply in flight after a reconnect without showing any delta twice', () => {
    const { server, text, events } = acknowledged('tell me');
    server.push(token(0, 'One'));
    server.push(token(1, ' two'));
    server.drop();
    vi.advanceTimersByTime(1_000);
    server.handshake([{ job_id: 'job-1', user_message_id: 1 }]);
    const resume = server.sentBy().find((frame) => frame.type === 'resume');
    expect(resume).toEqual({ type: 'resume', job_id: 'job-1', after: '11-0' });
    expect(server.sentBy().some((frame) => frame.type === 'message')).toBe(false);
    // The server may replay more than asked; the client must still show each delta once.
    server.push(token(1, ' two'));
    server.push(token(2, ' three'));
    server.push(doneFrame('job-1', 'One two three'));
    expect(text()).toBe('One two three');
    expect(events.filter((e) => e.type === 'done')).toHaveLength(1);
  });

  it('re-sends a message the server never acknowledged, with the same client_id', () => {
    const { server, client } = setup();
    client.connect();
    server.handshake();
    client.sendMessage('are you there?', { clientId: 'c7' });
    server.drop();
    vi.advanceTimersByTime(1_000);
    server.handshake();
    const messages = server.sentBy().filter((frame) => frame.type === 'message');
    expect(messages).toEqual([{ type: 'message', client_id: 'c7', content: 'are you there?' }]);
  });

  it('reports a reply that finished while disconnected so history can be reloaded', () => {
    const { server, events } = acknowledged('hi');
    server.drop();
    vi.advanceTimersByTime(1_000);
    server.handshake([]);
    expect(events).toContainEqual({ type: 'reply_lost', jobId: 'job-1' });
    expect(server.sentBy().some((frame) => frame.type === 'resume')).toBe(false);
  });

  it('resumes a reply it never saw (after a page reload) from the start', () => {
    const { server, client, text } = setup();
    client.connect();
    server.handshake([{ job_id: 'job-9', user_message_id: 4 }]);
    expect(server.sentBy().at(-1)).toEqual({ type: 'resume', job_id: 'job-9' });
    server.push(token(0, 'Still ', 'job-9'));
    server.push(token(1, 'here', 'job-9'));
    expect(text()).toBe('Still here');
  });

  it('cancels a reply and ignores the tokens that follow the done frame', () => {
    const { server, client, text } = acknowledged('long story');
    server.push(token(0, 'Once'));
    client.cancel('job-1');
    expect(server.sentBy().at(-1)).toEqual({ type: 'cancel', job_id: 'job-1' });
    server.push(doneFrame('job-1', 'Once', 'cancelled'));
    server.push(token(1, ' upon'));
    expect(text()).toBe('Once');
    client.cancel();
    expect(server.sentBy().at(-1)).toEqual({ type: 'cancel' });
  });

  it('stops reconnecting when the token is rejected or the session is gone', () => {
    for (const [code, status] of [
      [4401, 'unauthorized'],
      [4404, 'not_found'],
    ] as const) {
      const { server, client, statuses } = setup();
      client.connect();
      server.accept();
      server.drop(code);
      vi.advanceTimersByTime(60_000);
      expect(server.sockets).toHaveLength(1);
      expect(statuses().at(-1)).toBe(status);
    }
  });

  it('pings while open and treats a missing pong as a dropped connection', () => {
    const { server, client, statuses } = setup();
    client.connect();
    server.handshake();
    vi.advanceTimersByTime(1_000);
    expect(server.sentBy().at(-1)).toEqual({ type: 'ping' });
    server.push({ type: 'pong' });
    vi.advanceTimersByTime(999);
    expect(statuses().at(-1)).toBe('open');
    vi.advanceTimersByTime(1 + 500);
    expect(statuses().at(-1)).toBe('reconnecting');
    expect(server.sockets[0]?.closedByClient).toBe(1000);
    vi.advanceTimersByTime(1_000);
    expect(server.sockets).toHaveLength(2);
  });

  it('does not reconnect after close()', () => {
    const { server, client, statuses } = setup();
    client.connect();
    server.handshake();
    client.close();
    vi.advanceTimersByTime(60_000);
    expect(server.sockets).toHaveLength(1);
    expect(statuses().at(-1)).toBe('closed');
  });

  it('sends a message answered busy again by itself, and shows the error only when the tries run out', () => {
    const { server, client, events } = setup();
    client.connect();
    server.handshake();
    client.sendMessage('are you there?', { clientId: 'c1' });
    const busy = { type: 'error' as const, code: 'busy', message: 'Model is at capacity', client_id: 'c1' };
    const sent = () => server.sentBy().filter((frame) => frame.type === 'message').length;
    for (let attempt = 1; attempt <= 4; attempt += 1) {
      server.push(busy);
      expect(events.some((e) => e.type === 'error')).toBe(false);
      vi.advanceTimersByTime(BACKOFF.maxMs);
      server.push({ type: 'pong' }); // the ping sent meanwhile is answered: the connection stays up
      expect(sent()).toBe(attempt + 1);
    }
    server.push(busy);
    expect(events.filter((e) => e.type === 'error')).toHaveLength(1);
    vi.advanceTimersByTime(BACKOFF.maxMs);
    expect(sent()).toBe(5);
  });

  it('stops resending once the busy message is acknowledged', () => {
    const { server, client } = setup();
    client.connect();
    server.handshake();
    client.sendMessage('hi', { clientId: 'c1' });
    server.push({ type: 'error', code: 'busy', message: 'saved and being queued; resend it', client_id: 'c1' });
    server.push({ type: 'ack', client_id: 'c1', message_id: 1, job_id: 'job-1', duplicate: true });
    vi.advanceTimersByTime(BACKOFF.maxMs);
    expect(server.sentBy().filter((frame) => frame.type === 'message')).toHaveLength(1);
  });

  it('does not re-send a message the server rejected', () => {
    const { server, client } = setup();
    client.connect();
    server.handshake();
    client.sendMessage('x'.repeat(5000), { clientId: 'c1' });
    server.push({ type: 'error', code: 'bad_request', message: 'too long', client_id: 'c1' });
    server.drop();
    vi.advanceTimersByTime(1_000);
    server.handshake();
    expect(server.sentBy().filter((frame) => frame.type === 'message')).toHaveLength(0);
  });

  it('re-sends an unfinished comparison after a reconnect, and forgets it once done', () => {
    const { server, client, events } = setup();
    client.connect();
    server.handshake();
    const clientId = client.compare('Which answer is kinder?', { modelB: 'chatgpt' });
    server.push({ type: 'compare_ack', client_id: clientId, comparison_id: 'cmp', duplicate: false, sides: [] });
    server.drop();
    vi.advanceTimersByTime(1_000);
    server.handshake();
    const resent = server.sentBy().filter((frame) => frame.type === 'compare');
    expect(resent).toEqual([{ type: 'compare', client_id: clientId, content: 'Which answer is kinder?', model_b: 'chatgpt' }]);

    server.push({ type: 'compare_done', comparison: { id: 'cmp', session_id: 's1', content: 'x', created_at: '', preferred: null, adopted_message_id: null, replies: [] } });
    expect(events.filter((e) => e.type === 'compare').map((e) => (e.type === 'compare' ? e.frame.type : ''))).toEqual(['compare_ack', 'compare_done']);
    server.drop();
    vi.advanceTimersByTime(1_000);
    server.handshake();
    expect(server.sentBy().filter((frame) => frame.type === 'compare')).toEqual([]);
  });
});

