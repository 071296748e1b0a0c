import { act, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DoneFrame, MessagePublic, SafetyVerdict, SessionPublic } from '@/lib/protocol';
import { installFakeChatServer, uninstallFakeChatServer, type FakeChatServer } from '@/test/fake-chat-server';
import { renderWithProviders, stubApi } from '@/test/render';
import { ChatPanel } from './ChatPanel';

const session: SessionPublic = { id: 's1', title: 'Evening talk', model: null, created_at: '2026-01-01T00:00:00Z', updated_at: '2026-01-01T00:00:00Z' };

function message(id: number, role: MessagePublic['role'], content: string, extra: Partial<MessagePublic> = {}): MessagePublic {
  return {
    id, session_id: 's1', role, content, model: role === 'assistant' ? 'smollm2' : null, cached: false, status: 'complete',
    created_at: '2026-01-01T00:00:00Z', client_id: null, reply_to_id: null, emotion: null, alignment: null, safety: null,
    extras: {}, latency_ms: null, ttft_ms: null, prompt_tokens: null, completion_tokens: null, ...extra,
  };
}

const CLEAR: SafetyVerdict = { crisis: false, toxic: false, level: 'none', reasons: [], resources: [], language: null, session_risk: false, fixed_reply: false };

/** The `done` of a reply that passed the safety layer. */
function replyDone(reply: MessagePublic, eventId: string): DoneFrame {
  return { type: 'done', job_id: 'j1', message: reply, cached: false, timings: { ttft_ms: 10, duration_ms: 20 }, safety: CLEAR, alignment: 0.8, finish_reason: 'stop', event_id: eventId };
}

let server: FakeChatServer;

beforeEach(() => {
  server = installFakeChatServer();
});
afterEach(uninstallFakeChatServer);

function stubHistory(pages: Record<string, { items: MessagePublic[]; next_before: number | null }>) {
  return stubApi({
    'GET /api/sessions/s1/messages': (url) => pages[url.searchParams.get('before') ?? 'newest'],
    'GET /api/models': () => [{ name: 'smollm2', kind: 'causal_lm', state: 'loaded', reason: null, default: true, description: null }],
    'GET /api/limits': () => ({ message_chars: 4000, journal_chars: 10_000 }),
  });
}

/** A history that changes between fetches, as it does when a reply is stored after the page loaded. */
function stubReloaded(items: () => MessagePublic[]) {
  return stubApi({
    'GET /api/sessions/s1/messages': () => ({ items: items(), next_before: null }),
    'GET /api/models': () => [],
    'GET /api/limits': () => ({ message_chars: 4000, journal_chars: 10_000 }),
  });
}

describe('ChatPanel', () => {
  it('notes a reply that was cut at the length limit, and only that one', async () => {
    stubHistory({
      newest: {
        items: [
          message(1, 'user', 'tell me everything'),
          message(2, 'assistant', 'Here is a long answer.', { extras: { finish_reason: 'length' } }),
          message(3, 'user', 'thanks'),
          message(4, 'assistant', 'Any time.', { extras: { finish_reason: 'stop' } }),
        ],
        next_before: null,
      },
    });
    renderWithProviders(<ChatPanel session={session} />);
    expect(await screen.findByText('Here is a long answer.')).toBeInTheDocument();
    expect(screen.getAllByTestId('length-note')).toHaveLength(1);
    expect(screen.getByText('reply cut at the length limit')).toBeInTheDocument();
  });

  it('shows history with emotion badges and streams a new reply with a Stop button', async () => {
    const clear = { crisis: false, toxic: false, level: 'none' as const, reasons: [], resources: [], language: null, session_risk: false, fixed_reply: false };
    stubHistory({ newest: { items: [message(1, 'user', 'hello', { emotion: { label: 'joy', scores: { joy: 0.9 }, model: null, fusion: null } }), message(2, 'assistant', 'Hi **there**', { reply_to_id: 1, safety: clear })], next_before: null } });
    renderWithProviders(<ChatPanel session={session} />);
    expect(await screen.findByText('hello')).toBeInTheDocument();
    expect(screen.getByText('there').tagName).toBe('STRONG');
    expect(screen.getByTestId('emotion-badge')).toHaveTextContent('you feel joy 90%');
    expect(server.current.url).toMatch(/\/ws\/chat\/s1$/);

    act(() => server.handshake());
    await waitFor(() => expect(screen.getByTestId('connection-status')).toHaveAttribute('data-status', 'open'));
    await userEvent.type(screen.getByLabelText('Message'), 'I feel lonely{Enter}');
    const sent = server.sentBy().find((frame) => frame.type === 'message');
    expect(sent).toMatchObject({ content: 'I feel lonely' });
    const clientId = (sent as { client_id: string }).client_id;
    const bubble = screen.getByText('I feel lonely').closest('article');

    act(() => {
      server.push({ type: 'ack', client_id: clientId, message_id: 3, job_id: 'j1', duplicate: false });
      server.push({ type: 'emotion', job_id: 'j1', message_id: 3, emotion: { label: 'sadness', scores: { sadness: 0.7 }, model: null, fusion: null }, event_id: '1-0' });
      server.push({ type: 'token', job_id: 'j1', index: 0, text: 'That sounds', event_id: '2-0' });
      server.push({ type: 'token', job_id: 'j1', index: 1, text: ' hard', event_id: '3-0' });
    });
    expect(screen.getByText('That sounds hard')).toBeInTheDocument();
    expect(screen.getByTestId('typing-indicator')).toBeInTheDocument();
    expect(screen.getAllByTestId('emotion-badge').at(-1)).toHaveTextContent('you feel sadness 70%');

    await userEvent.click(screen.getByRole('button', { name: 'Stop' }));
    expect(server.sentBy().at(-1)).toEqual({ type: 'cancel', job_id: 'j1' });
    act(() =>
      server.push({
        // As the server sends it: the frame's verdict and alignment are the stored reply's.
        type: 'done', job_id: 'j1', message: message(4, 'assistant', 'That sounds hard', { status: 'cancelled', reply_to_id: 3, alignment: 0.42, safety: clear }), cached: false,
        timings: { ttft_ms: 10, duration_ms: 20 }, safety: clear, alignment: 0.42,
        finish_reason: 'cancelled', event_id: '4-0',
      }),
    );
    expect(screen.queryByTestId('typing-indicator')).not.toBeInTheDocument();
    expect(screen.getByText('stopped')).toBeInTheDocument();
    expect(screen.getAllByText('That sounds hard')).toHaveLength(1);
    expect(screen.getAllByText('I feel lonely')).toHaveLength(1);
    // Stored, the message moved into the history as the same element: nothing is announced twice.
    expect(screen.getByText('I feel lonely').closest('article')).toBe(bubble);
    expect(screen.getByText('alignment 0.42')).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Send' })).toBeInTheDocument();
  });

  it('shows a crisis reply distinctly, with its resources, and never renders raw HTML', async () => {
    const crisis = message(2, 'assistant', 'Please reach out. <img src=x onerror="alert(1)">', {
      safety: { crisis: true, toxic: false, reasons: ['self_harm'], resources: [{ name: 'Lifeline', phone: '988', url: 'https://988lifeline.org' }], level: 'none' as const, language: null, session_risk: false, fixed_reply: false },
    });
    stubHistory({ newest: { items: [message(1, 'user', 'I want to end it'), crisis], next_before: null } });
    const { container } = renderWithProviders(<ChatPanel session={session} />);
    expect(await screen.findByRole('article', { name: 'Support resources' })).toBeInTheDocument();
    expect(screen.getByText('Lifeline')).toBeInTheDocument();
    expect(screen.getByRole('link', { name: 'Call 988' })).toHaveAttribute('href', 'tel:988');
    expect(container.querySelector('img')).toBeNull();
  });

  it('never badges a fixed safety reply as if the model had written it, and says which level it answers', async () => {
    const lines = [{ name: 'Línea de la Vida', phone: '800 911 2000', checked_on: '2026-12-01', source: 'CONASAMA' }];
    const imminent = message(2, 'assistant', 'Gracias por decírmelo.', {
      emotion: { label: 'joy', scores: { joy: 0.9 }, model: null, fusion: null },
      alignment: 0.6,
      safety: { crisis: true, toxic: false, level: 'imminent', language: 'es', fixed_reply: true, reasons: [], resources: lines, session_risk: false },
    });
    const helper = message(4, 'assistant', 'It is good that you are looking out for them.', {
      safety: { crisis: false, toxic: false, level: 'third_party', language: 'en', fixed_reply: true, reasons: [], resources: lines, session_risk: false },
    });
    const followUp = message(6, 'assistant', 'I am here with you.', {
      safety: { crisis: false, toxic: false, level: 'none', session_risk: true, reasons: [], resources: lines, language: null, fixed_reply: false },
    });
    stubHistory({
      newest: {
        items: [message(1, 'user', 'ya tengo las pastillas'), imminent, message(3, 'user', 'my friend wants to die'), helper, message(5, 'user', 'ok'), followUp],
        next_before: null,
      },
    });
    renderWithProviders(<ChatPanel session={session} />);
    const card = await screen.findByRole('article', { name: 'Support resources' });
    expect(card).toHaveAttribute('data-safety-level', 'imminent');
    expect(card).toHaveTextContent('Lo primero es tu seguridad');
    expect(card).not.toHaveTextContent('joy');
    expect(card).not.toHaveTextContent('alignment');
    expect(card).toHaveTextContent('not written by a model');
    expect(screen.getAllByRole('link', { name: 'Llamar al 800 911 2000' })[0]).toHaveAttribute('href', 'tel:8009112000');
    expect(screen.getByRole('article', { name: 'How to help' })).toHaveTextContent('How to help someone you are worried about');
    expect(screen.getByText('Help is here whenever you need it:')).toBeInTheDocument();
  });

  it('welcomes the person in an empty conversation, and not once it has messages', async () => {
    stubHistory({ newest: { items: [], next_before: null } });
    renderWithProviders(<ChatPanel session={session} />);
    expect(await screen.findByTestId('welcome-note')).toHaveTextContent('not a therapist');
    act(() => server.handshake());
    await userEvent.type(screen.getByLabelText('Message'), 'hi{Enter}');
    expect(screen.queryByTestId('welcome-note')).not.toBeInTheDocument();
  });

  it('loads the previous page of history on demand', async () => {
    const calls = stubHistory({
      newest: { items: [message(5, 'user', 'newer question'), message(6, 'assistant', 'newer answer')], next_before: 5 },
      '5': { items: [message(3, 'user', 'older question'), message(4, 'assistant', 'older answer')], next_before: null },
    });
    renderWithProviders(<ChatPanel session={session} />);
    await screen.findByText('newer question');
    await userEvent.click(screen.getByRole('button', { name: 'Load earlier messages' }));
    expect(await screen.findByText('older question')).toBeInTheDocument();
    expect(calls.some((call) => call.url.searchParams.get('before') === '5')).toBe(true);
    const texts = screen.getAllByRole('article').map((node) => node.textContent);
    expect(texts[0]).toContain('older question');
    expect(texts.at(-1)).toContain('newer answer');
    expect(screen.getByText('Beginning of the conversation')).toBeInTheDocument();
  });

  it('compares two models side by side and adopts the chosen answer', async () => {
    const calls = stubApi({
      'GET /api/sessions/s1/messages': () => ({ items: [], next_before: null }),
      'GET /api/models': () => [
        { name: 'smollm2', kind: 'causal_lm', state: 'loaded', reason: null, default: true, description: null },
        { name: 'chatgpt', kind: 'openai', state: 'available', reason: null, default: false, description: null },
      ],
      'PUT /api/compare/cmp1/preference': () => ({ ...stored, preferred: 'b', adopted_message_id: 12 }),
    });
    const side = (slot: 'a' | 'b', model: string, content: string) => ({
      slot, model, job_id: `j${slot}`, status: 'complete' as const, content, model_version: 'v', finish_reason: 'stop', prompt_tokens: 3,
      completion_tokens: 2, ttft_ms: 12, duration_ms: 40, user_emotion: null, reply_emotion: { label: 'joy', scores: { joy: 0.6 }, model: null, fusion: null },
      alignment: 0.5, safety: { crisis: false, toxic: false, reasons: [], resources: [], level: 'none' as const, language: null, session_risk: false, fixed_reply: false }, error_code: null, error_message: null,
    });
    const stored = { id: 'cmp1', session_id: 's1', content: 'Which is kinder?', created_at: '', preferred: null, adopted_message_id: null,
      replies: [side('a', 'smollm2', 'Answer A'), side('b', 'chatgpt', 'Answer B')] };
    renderWithProviders(<ChatPanel session={session} />);
    act(() => server.handshake());
    await screen.findAllByRole('option', { name: 'chatgpt' });
    await userEvent.click(screen.getByLabelText('Compare with'));
    await userEvent.selectOptions(screen.getByLabelText('Second model'), 'chatgpt');
    await userEvent.type(screen.getByLabelText('Message'), 'Which is kinder?{Enter}');
    const sent = server.sentBy().find((frame) => frame.type === 'compare');
    expect(sent).toMatchObject({ content: 'Which is kinder?', model_b: 'chatgpt' });
    const clientId = (sent as { client_id: string }).client_id;

    act(() => {
      server.push({ type: 'compare_ack', client_id: clientId, comparison_id: 'cmp1', duplicate: false,
        sides: [{ slot: 'a', model: 'smollm2', job_id: 'ja' }, { slot: 'b', model: 'chatgpt', job_id: 'jb' }] });
      server.push({ type: 'compare_token', comparison_id: 'cmp1', slot: 'b', job_id: 'jb', index: 0, text: 'Answer', event_id: '1-0' });
      server.push({ type: 'compare_token', comparison_id: 'cmp1', slot: 'a', job_id: 'ja', index: 0, text: 'Answer A', event_id: '1-0' });
    });
    expect(screen.getByTestId('comparison-side-a')).toHaveTextContent('Answer A');
    expect(screen.getByTestId('comparison-side-b')).toHaveTextContent('Answer');
    await userEvent.click(screen.getByRole('button', { name: 'Stop' }));
    expect(server.sentBy().filter((frame) => frame.type === 'cancel')).toEqual([
      { type: 'cancel', job_id: 'ja' },
      { type: 'cancel', job_id: 'jb' },
    ]);

    act(() => server.push({ type: 'compare_done', comparison: stored }));
    expect(screen.getByTestId('comparison-side-b')).toHaveTextContent('Answer B');
    expect(screen.getByTestId('comparison-side-b')).toHaveTextContent('alignment 0.50');
    await userEvent.click(screen.getByRole('button', { name: 'B is better' }));
    expect(await screen.findByText('The chosen answer is now part of the conversation.')).toBeInTheDocument();
    expect(calls.find((call) => call.method === 'PUT')?.body).toEqual({ choice: 'b' });
    expect(screen.getByRole('button', { name: 'B is better' })).toHaveAttribute('aria-pressed', 'true');
  });

  it('badges only confident readings, the top two when close, and nothing cheerful on a turn the safety layer flagged', async () => {
    const fixed = { crisis: true, toxic: false, level: 'ideation' as const, fixed_reply: true, reasons: [], resources: [], language: null, session_risk: false };
    const clear = { crisis: false, toxic: false, level: 'none' as const, reasons: [], resources: [], language: null, session_risk: false, fixed_reply: false };
    stubHistory({
      newest: {
        items: [
          message(1, 'user', "I don't want to live anymore", { emotion: { label: 'anger', scores: { anger: 0.41, sadness: 0.33, fear: 0.2 }, model: null, fusion: null } }),
          message(2, 'assistant', "You don't have to go through this alone.", { reply_to_id: 1, safety: fixed }),
          message(3, 'user', 'nobody at my new school likes me', { emotion: { label: 'love', scores: { love: 0.62, sadness: 0.3 }, model: null, fusion: null } }),
          message(4, 'assistant', 'That sounds lonely.', { reply_to_id: 3, safety: { ...fixed, crisis: false, level: 'none', fixed_reply: false, session_risk: true } }),
          message(5, 'user', 'my exams are tomorrow', { emotion: { label: 'fear', scores: { fear: 0.52, sadness: 0.45 }, model: null, fusion: null } }),
          message(6, 'assistant', 'You have prepared well.', { reply_to_id: 5, safety: clear, emotion: { label: 'joy', scores: { joy: 0.38, neutral: 0.3 }, model: null, fusion: null } }),
        ],
        next_before: null,
      },
    });
    renderWithProviders(<ChatPanel session={session} />);
    await screen.findByText('my exams are tomorrow');
    const badges = screen.getAllByTestId('emotion-badge').map((badge) => badge.textContent);
    expect(badges).toEqual(['you feel fear 52% · sadness 45%']);
  });

  it('shows the emotion of a message whose reply was resumed after a reload as soon as the reply finishes', async () => {
    let stored = false;
    const sadness = { label: 'sadness', scores: { sadness: 0.81, fear: 0.1 }, model: null, fusion: null };
    stubReloaded(() => [message(1, 'user', 'I failed my driving test', stored ? { emotion: sadness } : {})]);
    renderWithProviders(<ChatPanel session={session} />);
    await screen.findByText('I failed my driving test');
    act(() => server.handshake([{ job_id: 'j1', user_message_id: 1 }]));
    expect(server.sentBy()).toContainEqual({ type: 'resume', job_id: 'j1' });
    act(() => {
      server.push({ type: 'emotion', job_id: 'j1', message_id: 1, emotion: sadness, event_id: '1-0' });
      server.push({ type: 'token', job_id: 'j1', index: 0, text: 'I am sorry.', event_id: '2-0' });
    });
    expect(screen.getByTestId('emotion-badge')).toHaveTextContent('you feel sadness 81%');
    stored = true;
    act(() => server.push(replyDone(message(2, 'assistant', 'I am sorry.', { reply_to_id: 1 }), '3-0')));
    expect(screen.getByTestId('emotion-badge')).toHaveTextContent('you feel sadness 81%');
  });

  it('after a reload, a reply that finished before the resume (its done alone) still brings its message emotion', async () => {
    let stored = false;
    const reply = message(2, 'assistant', 'Congratulations!', { reply_to_id: 1, safety: CLEAR });
    stubReloaded(() => (stored ? [message(1, 'user', 'I got the job!', { emotion: { label: 'joy', scores: { joy: 0.93 }, model: null, fusion: null } }), reply] : [message(1, 'user', 'I got the job!')]));
    renderWithProviders(<ChatPanel session={session} />);
    await screen.findByText('I got the job!');
    act(() => server.handshake([{ job_id: 'j1', user_message_id: 1 }]));
    stored = true;
    act(() => server.push(replyDone(reply, '5-0')));
    expect(await screen.findByTestId('emotion-badge')).toHaveTextContent('you feel joy 93%');
  });
});
