import {
  CLOSE_CODES,
  type AckFrame,
  type ClientFrame,
  type CompareFrame,
  type CompareServerFrame,
  type DecodingParams,
  type DoneFrame,
  type EmotionFrame,
  type ErrorFrame,
  type ImageUpload,
  type MessageFrame,
  type ReadyFrame,
  type ServerFrame,
} from '../protocol';
import { newClientId } from '../ids';
import { backoffDelay, DEFAULT_BACKOFF, type BackoffOptions } from './backoff';
import { ReplyAssembler } from './reply-assembler';

/** The part of the browser's WebSocket this client uses, so tests can hand it a fake. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
}

const SOCKET_OPEN = 1;
/** How many times a frame answered `busy` is sent again before the error is shown (about 15 s in all). */
const BUSY_RESENDS = 4;

export type ConnectionStatus = 'connecting' | 'open' | 'reconnecting' | 'closed' | 'unauthorized' | 'not_found';

export type ChatSocketEvent =
  | { type: 'status'; status: ConnectionStatus; retryInMs?: number }
  | { type: 'ready'; frame: ReadyFrame }
  | { type: 'ack'; frame: AckFrame }
  | { type: 'emotion'; frame: EmotionFrame }
  | { type: 'delta'; jobId: string; index: number; text: string }
  | { type: 'done'; frame: DoneFrame }
  | { type: 'error'; frame: ErrorFrame }
  /** A reply this client was following finished while it was disconnected: reload history. */
  | { type: 'reply_lost'; jobId: string }
  /** A frame of a comparison; its tokens may repeat after a reconnect (the index tells). */
  | { type: 'compare'; frame: CompareServerFrame };

export type ChatSocketListener = (event: ChatSocketEvent) => void;

export interface ChatSocketOptions {
  url: string;
  getToken: () => string | null;
  createSocket?: (url: string) => WebSocketLike;
  backoff?: BackoffOptions;
  random?: () => number;
  pingIntervalMs?: number;
  pongTimeoutMs?: number;
}

export interface CompareOptions {
  modelA?: string;
  modelB?: string;
  params?: DecodingParams;
  clientId?: string;
}

export interface SendOptions {
  model?: string;
  params?: DecodingParams;
  clientId?: string;
  locale?: string;
  /** A photo for this turn's emotion (docs/protocol.md, "Photos"). */
  image?: ImageUpload;
}

/**
 * One chat session's WebSocket: authenticates with the first frame, reconnects with
 * exponential backoff and jitter, resumes replies that were in flight, re-sends messages the
 * server never acknowledged (their `client_id` makes that safe) and releases token deltas in
 * `index` order exactly once.
 */
export class ChatSocket {
  private socket: WebSocketLike | null = null;
  private state: ConnectionStatus = 'closed';
  private ready = false;
  private stopped = true;
  private attempt = 0;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private pingTimer: ReturnType<typeof setInterval> | undefined;
  private pongTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly listeners = new Set<ChatSocketListener>();
  private readonly replies = new Map<string, ReplyAssembler>();
  private readonly finished = new Set<string>();
  private readonly unacked = new Map<string, MessageFrame>();
  /** Comparisons not yet finished, by client id: re-sent on reconnect, the server then replays them. */
  private readonly openComparisons = new Map<string, CompareFrame>();
  private readonly comparisonIds = new Map<string, string>();
  /** `busy` resends so far, and the pending resend, by client id (messages and comparisons). */
  private readonly busyAttempts = new Map<string, number>();
  private readonly busyTimers = new Map<string, ReturnType<typeof setTimeout>>();
  private readonly options: Required<Omit<ChatSocketOptions, 'createSocket'>> & Pick<ChatSocketOptions, 'createSocket'>;

  constructor(options: ChatSocketOptions) {
    this.options = {
      backoff: DEFAULT_BACKOFF,
      random: Math.random,
      pingIntervalMs: 25_000,
      pongTimeoutMs: 10_000,
      ...options,
    };
  }

  get status(): ConnectionStatus {
    return this.state;
  }

  subscribe(listener: ChatSocketListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  connect(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.attempt = 0;
    this.open('connecting');
  }

  /** Closes for good: no reconnect until `connect()` is called again. */
  close(): void {
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    this.forgetBusy();
    this.detachSocket(CLOSE_CODES.normal);
    this.setStatus('closed');
  }

  /** Sends a user message (now, or as soon as the connection is ready); returns its client_id. */
  sendMessage(content: string, options: SendOptions = {}): string {
    const frame: MessageFrame = { type: 'message', client_id: options.clientId ?? newClientId(), content };
    if (options.model) frame.model = options.model;
    if (options.params) frame.params = options.params;
    if (options.locale) frame.locale = options.locale;
    if (options.image) frame.image = options.image;
    return this.sendTracked(this.unacked, frame);
  }

  /** Asks two models to answer `content` side by side; returns its client_id. */
  compare(content: string, options: CompareOptions = {}): string {
    const frame: CompareFrame = { type: 'compare', client_id: options.clientId ?? newClientId(), content };
    if (options.modelA) frame.model_a = options.modelA;
    if (options.modelB) frame.model_b = options.modelB;
    if (options.params) frame.params = options.params;
    return this.sendTracked(this.openComparisons, frame);
  }

  /** Keeps `frame` in `pending` (resent on each reconnect until answered); sends it now if the connection is ready. */
  private sendTracked<F extends MessageFrame | CompareFrame>(pending: Map<string, F>, frame: F): string {
    pending.set(frame.client_id, frame);
    if (this.ready) this.send(frame);
    return frame.client_id;
  }

  /** Stops a reply; without a job id the server stops the newest one in flight. */
  cancel(jobId?: string): void {
    this.send(jobId ? { type: 'cancel', job_id: jobId } : { type: 'cancel' });
  }

  private open(status: ConnectionStatus): void {
    this.setStatus(status);
    const create = this.options.createSocket ?? ((url: string) => new WebSocket(url) as unknown as WebSocketLike);
    const socket = create(this.options.url);
    this.socket = socket;
    socket.onopen = () => {
      const token = this.options.getToken();
      if (!token) {
        this.detachSocket(CLOSE_CODES.normal);
        this.setStatus('unauthorized');
        this.stopped = true;
        return;
      }
      this.sendRaw(socket, { type: 'auth', token });
    };
    socket.onmessage = (event) => this.handleMessage(event.data);
    socket.onclose = (event) => this.handleClose(event.code);
    socket.onerror = () => undefined; // a close event always follows; that is where we react
  }

  private handleMessage(data: unknown): void {
    if (typeof data !== 'string') return;
    let frame: ServerFrame;
    try {
      frame = JSON.parse(data) as ServerFrame;
    } catch {
      return;
    }
    switch (frame.type) {
      case 'ready':
        return this.handleReady(frame);
      case 'ack':
        this.unacked.delete(frame.client_id);
        this.forgetBusy(frame.client_id);
        // job_id is null while another replica still queues a resent message (an error `busy` follows).
        if (frame.job_id !== null && !this.finished.has(frame.job_id) && !this.replies.has(frame.job_id)) {
          this.replies.set(frame.job_id, new ReplyAssembler());
        }
        return this.emit({ type: 'ack', frame });
      case 'emotion':
        this.replyFor(frame.job_id)?.noteEvent(frame.event_id);
        return this.emit({ type: 'emotion', frame });
      case 'token': {
        const reply = this.replyFor(frame.job_id);
        if (!reply) return;
        const firstIndex = reply.releasedCount;
        reply.accept(frame).forEach((text, offset) => this.emit({ type: 'delta', jobId: frame.job_id, index: firstIndex + offset, text }));
        return;
      }
      case 'done':
        if (this.finished.has(frame.job_id)) return;
        this.replies.delete(frame.job_id);
        this.finished.add(frame.job_id);
        return this.emit({ type: 'done', frame });
      case 'error':
        // A rejected message must not be re-sent on reconnect; only `busy` invites a retry.
        if (frame.client_id && frame.code !== 'busy') {
          this.unacked.delete(frame.client_id);
          this.openComparisons.delete(frame.client_id);
        }
        if (frame.client_id && frame.code === 'busy' && this.resendWhenFree(frame.client_id)) return;
        return this.emit({ type: 'error', frame });
      case 'compare_done':
        for (const [clientId, open] of this.openComparisons) {
          if (this.comparisonIds.get(clientId) === frame.comparison.id) this.openComparisons.delete(open.client_id);
        }
        return this.emit({ type: 'compare', frame });
      case 'compare_ack':
        this.comparisonIds.set(frame.client_id, frame.comparison_id);
        this.forgetBusy(frame.client_id);
        return this.emit({ type: 'compare', frame });
      case 'compare_emotion':
      case 'compare_token':
      case 'compare_reply':
      case 'compare_error':
        return this.emit({ type: 'compare', frame });
      case 'pong':
        clearTimeout(this.pongTimer);
        return;
      case 'cancel_ack': // the stopped reply ends with its own `done`; nothing to show before it
        return;
    }
  }

  /**
   * After `busy` (the model's queue is full, or another replica still holds the saved message),
   * sends the same frame again after a growing, jittered delay, so the person's turn goes through
   * without them pressing anything; the same `client_id` makes it safe. After
   * `BUSY_RESENDS` tries the error is shown, and the frame is still re-sent on the next reconnect.
   */
  private resendWhenFree(clientId: string): boolean {
    const frame = this.unacked.get(clientId) ?? this.openComparisons.get(clientId);
    const attempt = this.busyAttempts.get(clientId) ?? 0;
    if (!frame || attempt >= BUSY_RESENDS) {
      this.forgetBusy(clientId);
      return false;
    }
    this.busyAttempts.set(clientId, attempt + 1);
    clearTimeout(this.busyTimers.get(clientId));
    const delay = backoffDelay(attempt + 1, this.options.backoff, this.options.random);
    this.busyTimers.set(
      clientId,
      setTimeout(() => {
        this.busyTimers.delete(clientId);
        const pending = this.unacked.get(clientId) ?? this.openComparisons.get(clientId);
        if (pending) this.send(pending);
      }, delay),
    );
    return true;
  }

  private forgetBusy(clientId?: string): void {
    for (const [id, timer] of this.busyTimers) {
      if (clientId !== undefined && id !== clientId) continue;
      clearTimeout(timer);
      this.busyTimers.delete(id);
    }
    if (clientId === undefined) this.busyAttempts.clear();
    else this.busyAttempts.delete(clientId);
  }

  /** The assembler of a reply; created on first sight, so a resumed reply needs no ack. */
  private replyFor(jobId: string): ReplyAssembler | undefined {
    if (this.finished.has(jobId)) return undefined;
    let reply = this.replies.get(jobId);
    if (!reply) {
      reply = new ReplyAssembler();
      this.replies.set(jobId, reply);
    }
    return reply;
  }

  private handleReady(frame: ReadyFrame): void {
    this.ready = true;
    this.attempt = 0;
    this.setStatus('open');
    const stillRunning = new Set(frame.in_flight.map((job) => job.job_id));
    for (const jobId of [...this.replies.keys()]) {
      if (stillRunning.has(jobId)) continue;
      this.replies.delete(jobId);
      this.emit({ type: 'reply_lost', jobId });
    }
    this.emit({ type: 'ready', frame });
    for (const job of frame.in_flight) {
      const after = this.replyFor(job.job_id)?.lastEventId;
      this.send(after === undefined ? { type: 'resume', job_id: job.job_id } : { type: 'resume', job_id: job.job_id, after });
    }
    for (const message of this.unacked.values()) this.send(message);
    for (const comparison of this.openComparisons.values()) this.send(comparison);
    this.startPing();
  }

  private handleClose(code: number): void {
    this.socket = null;
    this.ready = false;
    this.stopPing();
    if (this.stopped) return this.setStatus('closed');
    if (code === CLOSE_CODES.unauthorized || code === CLOSE_CODES.sessionNotFound) {
      this.stopped = true;
      return this.setStatus(code === CLOSE_CODES.unauthorized ? 'unauthorized' : 'not_found');
    }
    const delay = backoffDelay(this.attempt, this.options.backoff, this.options.random);
    this.attempt += 1;
    this.setStatus('reconnecting', delay);
    this.reconnectTimer = setTimeout(() => this.open('reconnecting'), delay);
  }

  private startPing(): void {
    this.stopPing();
    this.pingTimer = setInterval(() => {
      this.send({ type: 'ping' });
      clearTimeout(this.pongTimer);
      // A connection that stopped answering may never fire `close`; treat silence as a drop.
      this.pongTimer = setTimeout(() => {
        const socket = this.socket;
        this.detachSocket(CLOSE_CODES.normal);
        if (socket) this.handleClose(CLOSE_CODES.serverError);
      }, this.options.pongTimeoutMs);
    }, this.options.pingIntervalMs);
  }

  private stopPing(): void {
    clearInterval(this.pingTimer);
    clearTimeout(this.pongTimer);
  }

  private detachSocket(code: number): void {
    const socket = this.socket;
    this.socket = null;
    this.ready = false;
    this.stopPing();
    if (!socket) return;
    socket.onopen = socket.onmessage = socket.onclose = socket.onerror = null;
    socket.close(code);
  }

  private send(frame: ClientFrame): void {
    if (this.socket && this.ready) this.sendRaw(this.socket, frame);
  }

  private sendRaw(socket: WebSocketLike, frame: ClientFrame): void {
    if (socket.readyState === SOCKET_OPEN) socket.send(JSON.stringify(frame));
  }

  private setStatus(status: ConnectionStatus, retryInMs?: number): void {
    this.state = status;
    this.emit(retryInMs === undefined ? { type: 'status', status } : { type: 'status', status, retryInMs });
  }

  private emit(event: ChatSocketEvent): void {
    for (const listener of this.listeners) listener(event);
  }
}
