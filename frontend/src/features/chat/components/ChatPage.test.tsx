import { QueryClientProvider } from '@tanstack/react-query';
import { act, render, screen, within } from '@testing-library/react';
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
});
