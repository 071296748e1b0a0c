import { QueryClientProvider } from '@tanstack/react-query';
import { act, render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { StrictMode } from 'react';
import { MemoryRouter, Route, Routes } from 'react-router-dom';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createQueryClient } from '@/lib/query-client';
import type { MessageFrame, SessionPublic } from '@/lib/protocol';
import { installFakeChatServer, uninstallFakeChatServer, type FakeChatServer } from '@/test/fake-chat-server';
import { stubApi } from '@/test/render';
import { ChatPage } from './ChatPage';

const untitled: SessionPublic = { id: 's1', title: 'New chat', model: null, created_at: '2026-01-01T00:00:00Z', updated_at: '2026-01-01T00:00:00Z' };

let server: FakeChatServer;

beforeEach(() => {
  server = installFakeChatServer();
});
afterEach(uninstallFakeChatServer);

/** The chat's API with a session list the test changes as the server would. */
function stubChatApi(sessions: { list: SessionPublic[] }) {
  return stubApi({
    'GET /api/sessions': () => ({ items: sessions.list, total: sessions.list.length }),
    'POST /api/sessions': () => {
      sessions.list = [untitled];
      return untitled;
    },
    'GET /api/sessions/s1/messages': () => ({ items: [], next_before: null }),
    'GET /api/models': () => [],
    'GET /api/limits': () => ({ message_chars: 4000, journal_chars: 10_000 }),
  });
}

/** As in the app: StrictMode mounts the chat's socket twice, and a message must still go out once. */
function renderChat(path: string) {
  render(
    <StrictMode>
      <QueryClientProvider client={createQueryClient()}>
        <MemoryRouter initialEntries={[path]}>
          <Routes>
            <Route path="/chat/:sessionId?" element={<ChatPage />} />
          </Routes>
        </MemoryRouter>
      </QueryClientProvider>
    </StrictMode>,
  );
}

const messagesSent = () => server.sockets.flatMap((socket) => socket.sent).filter((frame): frame is MessageFrame => frame.type === 'message');

/** The server stores the message and names the conversation after it; the test then acknowledges it. */
function acknowledge(sessions: { list: SessionPublic[] }, title: string) {
  sessions.list = [{ ...untitled, title }];
  act(() => server.push({ type: 'ack', client_id: messagesSent()[0]!.client_id, message_id: 1, job_id: 'j1', duplicate: false }));
}

describe('ChatPage', () => {
  it('shows the title the server gives a conversation as soon as its first message is stored', async () => {
    const sessions = { list: [untitled] };
    stubChatApi(sessions);
    renderChat('/chat/s1');
    const sidebar = await screen.findByRole('navigation', { name: 'Conversations' });
    expect(await within(sidebar).findByRole('link', { name: 'New chat' })).toBeInTheDocument();
    act(() => server.handshake());
    await userEvent.type(await screen.findByLabelText('Message'), 'Work has been a lot this week{Enter}');

    acknowledge(sessions, 'Work has been a lot this week');
    expect(await within(sidebar).findByRole('link', { name: 'Work has been a lot this week' })).toBeInTheDocument();
    expect(screen.getByRole('heading', { name: 'Work has been a lot this week' })).toBeInTheDocument();
    expect(within(sidebar).queryByText('New chat')).not.toBeInTheDocument();
  });

  it('welcomes a new user, lets them type at once, and the first message starts the conversation', async () => {
    const sessions = { list: [] as SessionPublic[] };
    const calls = stubChatApi(sessions);
    renderChat('/chat');

    const note = await screen.findByTestId('welcome-note');
    expect(note).toHaveTextContent('not a therapist');
    expect(within(note).getByRole('link', { name: 'findahelpline.com' })).toHaveAttribute('href', 'https://findahelpline.com');
    expect(screen.getByLabelText('Message')).toHaveFocus();
    const sidebar = screen.getByRole('navigation', { name: 'Conversations' });
    expect(within(sidebar).getByText(/No conversations yet/)).toBeInTheDocument();
    expect(within(sidebar).queryByRole('list')).not.toBeInTheDocument(); // no empty list pushing the note down

    await userEvent.keyboard('I feel anxious about tomorrow{Enter}');
    await waitFor(() => expect(server.sockets.length).toBeGreaterThan(0));
    expect(calls.filter((call) => call.method === 'POST' && call.url.pathname === '/api/sessions')).toHaveLength(1);
    expect(server.current.url).toMatch(/\/ws\/chat\/s1$/);
    act(() => server.handshake());
    expect(server.sentBy().filter((frame) => frame.type === 'message')).toMatchObject([{ content: 'I feel anxious about tomorrow' }]);
    expect(new Set(messagesSent().map((frame) => frame.client_id)).size).toBe(1);
    expect(screen.getByText('I feel anxious about tomorrow')).toBeInTheDocument();
    expect(screen.getByLabelText('Message')).toHaveFocus();

    acknowledge(sessions, 'I feel anxious about tomorrow');
    expect(await within(sidebar).findByRole('link', { name: 'I feel anxious about tomorrow' })).toBeInTheDocument();
  });

  it('keeps the first message in the box when the conversation cannot be created', async () => {
    stubApi({ 'GET /api/sessions': () => ({ items: [], total: 0 }), 'GET /api/limits': () => ({ message_chars: 4000, journal_chars: 10_000 }) });
    renderChat('/chat');
    await userEvent.type(await screen.findByLabelText('Message'), 'Is anyone there?{Enter}');
    expect(await screen.findByRole('alert')).toBeInTheDocument();
    expect(screen.getByLabelText('Message')).toHaveValue('Is anyone there?');
    expect(server.sockets).toHaveLength(0);
  });
});
