import { useQueryClient } from '@tanstack/react-query';
import { useCallback, useEffect, useReducer, useRef, useState } from 'react';
import { env } from '@/config/env';
import { getToken, setToken } from '@/lib/auth-token';
import { newClientId } from '@/lib/ids';
import type { ImageUpload } from '@/lib/protocol';
import { ChatSocket, type ConnectionStatus } from '@/lib/ws/chat-socket';
import { chatKeys } from '../api/chat-api';
import { comparisonsReducer } from './comparisons';
import { acknowledgedMessage, editHistory, withChangedMessage, withMessage, type CachedHistory } from './history-cache';
import { isStreaming, liveTurnReducer, type LiveTurn, type LiveTurnAction } from './live-turn';

export interface Connection {
  status: ConnectionStatus;
  retryInMs: number | null;
}

/** A message typed before its session existed, sent as soon as the session's socket opens. */
export interface FirstMessage {
  clientId: string;
  text: string;
}

const locale = () => navigator.language || undefined;

/** The live turn, in state to render and in a ref for the socket's listener, which reads it between renders. */
function useLiveTurn() {
  const current = useRef<LiveTurn | null>(null);
  const [turn, setTurn] = useState<LiveTurn | null>(null);
  const dispatch = useCallback((action: LiveTurnAction) => {
    current.current = liveTurnReducer(current.current, action);
    setTurn(current.current);
  }, []);
  return { turn, current, dispatch };
}

/**
 * The live side of a chat session: its socket, the turn streaming on this page, send and stop.
 * What the server stores goes into the history cache on the frame that says so (the user's
 * message on `ack`, its emotion on `emotion`, the reply on `done`); the live turn keeps only the
 * rest. The cache is written before the turn changes, and ChatPanel reads the cache as it renders,
 * so one render shows a message leaving the turn and joining the history.
 */
export function useChatStream(sessionId: string, firstMessage?: FirstMessage) {
  const queryClient = useQueryClient();
  // Read once: a remount (or StrictMode's second effect) resends the same client id, which the server stores once.
  const firstMessageRef = useRef(firstMessage);
  const { turn, current, dispatch } = useLiveTurn();
  const [comparisons, dispatchComparison] = useReducer(comparisonsReducer, []);
  const [connection, setConnection] = useState<Connection>({ status: 'connecting', retryInMs: null });
  const [notice, setNotice] = useState<string | null>(null);
  const socketRef = useRef<ChatSocket | null>(null);

  useEffect(() => {
    dispatch({ type: 'reset' });
    dispatchComparison({ type: 'reset' });
    setNotice(null);
    // Replies resumed after a reload: their user message came from history before its emotion was stored.
    const resumed = new Set<string>();
    const closing = new AbortController();
    const edit = (change: (history: CachedHistory) => CachedHistory) => editHistory(queryClient, sessionId, change, closing.signal);
    const socket = new ChatSocket({ url: `${env.wsUrl}/ws/chat/${sessionId}`, getToken });
    socketRef.current = socket;
    const unsubscribe = socket.subscribe((event) => {
      switch (event.type) {
        case 'status':
          setConnection({ status: event.status, retryInMs: event.retryInMs ?? null });
          if (event.status === 'unauthorized') setToken(null);
          return;
        case 'ready':
          for (const job of event.frame.in_flight) {
            resumed.add(job.job_id);
            dispatch({ type: 'resumed', jobId: job.job_id, userMessageId: job.user_message_id });
          }
          return;
        case 'delta':
          return dispatch({ type: 'delta', jobId: event.jobId, text: event.text });
        case 'reply_lost':
          dispatch({ type: 'lost', jobId: event.jobId });
          return void queryClient.invalidateQueries({ queryKey: chatKeys.messages(sessionId) });
        case 'done':
          edit((history) => withMessage(history, event.frame.message));
          dispatch({ type: 'done', jobId: event.frame.job_id });
          // A reply already stored when resumed comes as `done` alone, without its emotion frame.
          if (resumed.delete(event.frame.job_id)) void queryClient.invalidateQueries({ queryKey: chatKeys.messages(sessionId) });
          return void queryClient.invalidateQueries({ queryKey: chatKeys.sessions });
        case 'error':
          if (!event.frame.client_id && !event.frame.job_id) setNotice(event.frame.message);
          if (event.frame.client_id) dispatchComparison({ type: 'rejected', clientId: event.frame.client_id, message: event.frame.message });
          return dispatch({ type: 'error', frame: event.frame });
        case 'compare':
          return dispatchComparison({ type: 'frame', frame: event.frame });
        case 'ack': {
          const sending = current.current;
          if (sending?.clientId === event.frame.client_id && sending.content !== null) {
            const stored = acknowledgedMessage(sessionId, event.frame, sending.content);
            edit((history) => withMessage(history, stored));
          }
          dispatch({ type: 'ack', frame: event.frame });
          // The server titles a conversation when it stores the first message: show the title now.
          if (!event.frame.duplicate) void queryClient.invalidateQueries({ queryKey: chatKeys.sessions });
          return;
        }
        case 'emotion': {
          // Stored only with the reply: until then, a fetched page has the message without it.
          const messageId = current.current?.jobId === event.frame.job_id ? current.current.userMessageId : null;
          if (messageId !== null) edit((history) => withChangedMessage(history, messageId, (message) => ({ ...message, emotion: event.frame.emotion })));
          return;
        }
      }
    });
    socket.connect();
    const first = firstMessageRef.current;
    if (first) {
      dispatch({ type: 'sent', clientId: first.clientId, content: first.text });
      socket.sendMessage(first.text, { clientId: first.clientId, locale: locale() });
    }
    return () => {
      unsubscribe();
      closing.abort();
      socket.close();
      socketRef.current = null;
    };
  }, [sessionId, queryClient, current, dispatch]);

  /** Sends a message, with a photo for its emotion when `image` is given. */
  const send = useCallback(
    (content: string, image?: ImageUpload) => {
      const socket = socketRef.current;
      if (!socket) return;
      const clientId = newClientId();
      dispatch({ type: 'sent', clientId, content });
      socket.sendMessage(content, { clientId, locale: locale(), image });
    },
    [dispatch],
  );

  /** Both answers to one message, side by side; `modelB` empty: the server's comparison model. */
  const compare = useCallback((content: string, modelB?: string) => {
    const socket = socketRef.current;
    if (!socket) return;
    const clientId = newClientId();
    dispatchComparison({ type: 'sent', clientId, content });
    socket.compare(content, { clientId, modelB });
  }, []);

  const activeTurn = isStreaming(turn) ? turn : null;
  const comparing = comparisons.some((c) => c.phase === 'sending' || c.phase === 'streaming');
  /** Stops the reply streaming now and every side of a comparison still streaming. */
  const stop = useCallback(() => {
    const socket = socketRef.current;
    if (!socket) return;
    if (activeTurn || !comparing) socket.cancel(activeTurn?.jobId ?? undefined);
    for (const c of comparisons) {
      if (c.phase !== 'streaming') continue;
      for (const side of Object.values(c.sides)) if (side.jobId && !side.reply && !side.error) socket.cancel(side.jobId);
    }
  }, [activeTurn, comparing, comparisons]);

  return {
    turn,
    comparisons,
    dispatchComparison,
    connection,
    notice,
    send,
    compare,
    stop,
    isReplying: activeTurn !== null || comparing,
  };
}
