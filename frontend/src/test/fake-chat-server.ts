// A scripted stand-in for the chat WebSocket server, for unit tests: it records what the
// client sends and lets a test push frames or drop the connection.
import { vi } from 'vitest';
import { setToken } from '@/lib/auth-token';
import type { ClientFrame, ServerFrame } from '@/lib/protocol';
import type { WebSocketLike } from '@/lib/ws/chat-socket';

export class FakeSocket implements WebSocketLike {
  readyState = 0;
  readonly sent: ClientFrame[] = [];
  onopen: WebSocketLike['onopen'] = null;
  onmessage: WebSocketLike['onmessage'] = null;
  onclose: WebSocketLike['onclose'] = null;
  onerror: WebSocketLike['onerror'] = null;
  closedByClient: number | undefined;

  constructor(readonly url: string) {}

  send(data: string): void {
    if (this.readyState !== 1) throw new Error('send on a socket that is not open');
    this.sent.push(JSON.parse(data) as ClientFrame);
  }

  close(code = 1000): void {
    this.closedByClient = code;
    this.readyState = 3;
  }
}

export class FakeChatServer {
  readonly sockets: FakeSocket[] = [];

  readonly createSocket = (url: string): FakeSocket => {
    const socket = new FakeSocket(url);
    this.sockets.push(socket);
    return socket;
  };

  get current(): FakeSocket {
    const socket = this.sockets.at(-1);
    if (!socket) throw new Error('the client has not connected');
    return socket;
  }

  accept(): void {
    this.current.readyState = 1;
    this.current.onopen?.({});
  }

  push(frame: ServerFrame): void {
    this.current.onmessage?.({ data: JSON.stringify(frame) });
  }

  /** Accepts the connection and answers the auth frame with `ready`. */
  handshake(inFlight: { job_id: string; user_message_id: number }[] = []): void {
    this.accept();
    this.push({ type: 'ready', protocol: 1, session_id: 's1', model: 'smollm2', in_flight: inFlight });
  }

  drop(code = 1006): void {
    const socket = this.current;
    socket.readyState = 3;
    socket.onclose?.({ code, reason: '' });
  }

  sentBy(socket: FakeSocket = this.current): ClientFrame[] {
    return socket.sent;
  }
}

/** A signed-in page whose every `new WebSocket` connects to the returned fake server (call in `beforeEach`). */
export function installFakeChatServer(): FakeChatServer {
  const server = new FakeChatServer();
  vi.stubGlobal('WebSocket', function (url: string) { return server.createSocket(url); });
  setToken('token-1');
  return server;
}

export function uninstallFakeChatServer(): void {
  vi.unstubAllGlobals();
  setToken(null);
}
