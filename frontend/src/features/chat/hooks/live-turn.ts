import type { AckFrame, ErrorFrame } from '@/lib/protocol';

/**
 * The exchange happening on this page, as far as the server has not stored it: the user's text
 * until its `ack` (the message then lives in the history cache) and the reply's text until its
 * `done` (the reply then joins the history, and the turn is over).
 */
export interface LiveTurn {
  clientId: string | null;
  /** The user's text; `null` for a reply resumed after a reload, whose message is in history. */
  content: string | null;
  /** Set once the server stored the user's message. */
  userMessageId: number | null;
  jobId: string | null;
  replyText: string;
  error: string | null;
  phase: 'sending' | 'streaming' | 'failed';
}

export type LiveTurnAction =
  | { type: 'sent'; clientId: string; content: string }
  | { type: 'resumed'; jobId: string; userMessageId: number }
  | { type: 'ack'; frame: AckFrame }
  | { type: 'delta'; jobId: string; text: string }
  | { type: 'done'; jobId: string }
  | { type: 'error'; frame: ErrorFrame }
  | { type: 'lost'; jobId: string }
  | { type: 'reset' };

function blankTurn(fields: Partial<LiveTurn>): LiveTurn {
  return { clientId: null, content: null, userMessageId: null, jobId: null, replyText: '', error: null, phase: 'sending', ...fields };
}

export const isStreaming = (turn: LiveTurn | null): turn is LiveTurn => turn?.phase === 'sending' || turn?.phase === 'streaming';

function isAbout(turn: LiveTurn | null, frame: ErrorFrame): turn is LiveTurn {
  if (!turn) return false;
  if (frame.client_id) return turn.clientId === frame.client_id;
  return Boolean(frame.job_id) && turn.jobId === frame.job_id;
}

/** A new message replaces a failed turn: what the server never stored goes, what it stored is in history. */
export function liveTurnReducer(turn: LiveTurn | null, action: LiveTurnAction): LiveTurn | null {
  switch (action.type) {
    case 'sent':
      return blankTurn({ clientId: action.clientId, content: action.content });
    case 'resumed':
      // A reply the page still streams (e.g. after a reconnect) is followed on, not restarted.
      if (turn?.jobId === action.jobId || isStreaming(turn)) return turn;
      return blankTurn({ jobId: action.jobId, userMessageId: action.userMessageId, phase: 'streaming' });
    case 'ack':
      if (turn?.clientId !== action.frame.client_id) return turn;
      return { ...turn, jobId: action.frame.job_id, userMessageId: action.frame.message_id, phase: turn.phase === 'sending' ? 'streaming' : turn.phase };
    case 'delta':
      return turn?.jobId === action.jobId ? { ...turn, replyText: turn.replyText + action.text } : turn;
    case 'done':
    case 'lost':
      return turn?.jobId === action.jobId ? null : turn;
    case 'error':
      return isAbout(turn, action.frame) ? { ...turn, error: action.frame.message, phase: 'failed' } : turn;
    case 'reset':
      return null;
  }
}
