import type { AckFrame, DoneFrame, EmotionFrame, EmotionReading, ErrorFrame, MessagePublic, SafetyVerdict } from '@/lib/protocol';

/** One exchange happening on this page: the user's message and the reply streaming to it. */
export interface LiveTurn {
  clientId: string | null;
  /** The user's text; `null` for a reply resumed after a reload, whose message is in history. */
  content: string | null;
  userMessageId: number | null;
  jobId: string | null;
  emotion: EmotionReading | null;
  replyText: string;
  reply: MessagePublic | null;
  safety: SafetyVerdict | null;
  alignment: number | null;
  error: string | null;
  phase: 'sending' | 'streaming' | 'done' | 'failed';
}

export type LiveTurnAction =
  | { type: 'sent'; clientId: string; content: string }
  | { type: 'resumed'; jobId: string; userMessageId: number }
  | { type: 'ack'; frame: AckFrame }
  | { type: 'emotion'; frame: EmotionFrame }
  | { type: 'delta'; jobId: string; text: string }
  | { type: 'done'; frame: DoneFrame }
  | { type: 'error'; frame: ErrorFrame }
  | { type: 'lost'; jobId: string }
  | { type: 'reset' };

function blankTurn(fields: Partial<LiveTurn>): LiveTurn {
  return {
    clientId: null,
    content: null,
    userMessageId: null,
    jobId: null,
    emotion: null,
    replyText: '',
    reply: null,
    safety: null,
    alignment: null,
    error: null,
    phase: 'sending',
    ...fields,
  };
}

function update(turns: LiveTurn[], match: (turn: LiveTurn) => boolean, change: (turn: LiveTurn) => LiveTurn): LiveTurn[] {
  return turns.map((turn) => (match(turn) ? change(turn) : turn));
}

const byJob = (jobId: string) => (turn: LiveTurn) => turn.jobId === jobId;

export function liveTurnsReducer(turns: LiveTurn[], action: LiveTurnAction): LiveTurn[] {
  switch (action.type) {
    case 'sent':
      return [...turns, blankTurn({ clientId: action.clientId, content: action.content })];
    case 'resumed':
      if (turns.some(byJob(action.jobId))) return turns;
      return [...turns, blankTurn({ jobId: action.jobId, userMessageId: action.userMessageId, phase: 'streaming' })];
    case 'ack':
      return update(
        turns,
        (turn) => turn.clientId === action.frame.client_id,
        (turn) => ({ ...turn, jobId: action.frame.job_id, userMessageId: action.frame.message_id, phase: turn.phase === 'sending' ? 'streaming' : turn.phase }),
      );
    case 'emotion':
      return update(turns, byJob(action.frame.job_id), (turn) => ({ ...turn, emotion: action.frame.emotion }));
    case 'delta':
      return update(turns, byJob(action.jobId), (turn) => ({ ...turn, replyText: turn.replyText + action.text }));
    case 'done': {
      const { frame } = action;
      return update(turns, byJob(frame.job_id), (turn) => ({
        ...turn,
        reply: frame.message,
        replyText: frame.message.content,
        safety: frame.safety,
        alignment: frame.alignment,
        phase: 'done',
      }));
    }
    case 'error': {
      const { frame } = action;
      const match = frame.client_id ? (turn: LiveTurn) => turn.clientId === frame.client_id : frame.job_id ? byJob(frame.job_id) : null;
      if (!match) return turns;
      return update(turns, match, (turn) => ({ ...turn, error: frame.message, phase: 'failed' }));
    }
    case 'lost':
      return turns.filter((turn) => turn.jobId !== action.jobId);
    case 'reset':
      return [];
  }
}

export const isStreaming = (turn: LiveTurn) => turn.phase === 'sending' || turn.phase === 'streaming';
