import type { ComparisonPublic, ComparisonReply, CompareServerFrame, EmotionReading, Preference, Slot } from '@/lib/protocol';

/** One side of a comparison as it streams: tokens keyed by index, so a replay after a reconnect adds nothing. */
export interface ComparisonSide {
  slot: Slot;
  model: string | null;
  jobId: string | null;
  tokens: Record<number, string>;
  emotion: EmotionReading | null;
  reply: ComparisonReply | null;
  error: string | null;
}

export interface LiveComparison {
  clientId: string;
  content: string;
  comparisonId: string | null;
  sides: Record<Slot, ComparisonSide>;
  phase: 'sending' | 'streaming' | 'done' | 'failed';
  error: string | null;
  preferred: Preference | null;
  adoptedMessageId: number | null;
}

export type ComparisonAction =
  | { type: 'sent'; clientId: string; content: string }
  | { type: 'frame'; frame: CompareServerFrame }
  | { type: 'rejected'; clientId: string; message: string }
  | { type: 'preferred'; comparison: ComparisonPublic }
  | { type: 'reset' };

const blankSide = (slot: Slot): ComparisonSide => ({ slot, model: null, jobId: null, tokens: {}, emotion: null, reply: null, error: null });

/** The text of a side: the stored reply once finished, else the deltas in index order. */
export function sideText(side: ComparisonSide): string {
  if (side.reply?.content != null) return side.reply.content;
  return Object.keys(side.tokens)
    .map(Number)
    .sort((a, b) => a - b)
    .map((index) => side.tokens[index])
    .join('');
}

export const sideStreaming = (comparison: LiveComparison, side: ComparisonSide) =>
  comparison.phase === 'streaming' && side.reply === null && side.error === null;

function updateSide(comparison: LiveComparison, slot: Slot, change: (side: ComparisonSide) => Partial<ComparisonSide>): LiveComparison {
  const side = comparison.sides[slot];
  return { ...comparison, sides: { ...comparison.sides, [slot]: { ...side, ...change(side) } } };
}

function applyStored(comparison: LiveComparison, stored: ComparisonPublic): LiveComparison {
  let next: LiveComparison = { ...comparison, comparisonId: stored.id, preferred: stored.preferred, adoptedMessageId: stored.adopted_message_id };
  for (const reply of stored.replies) {
    next = updateSide(next, reply.slot, () => ({
      model: reply.model,
      jobId: reply.job_id,
      reply: reply.status === 'error' ? null : reply,
      error: reply.status === 'error' ? (reply.error_message ?? 'This side failed.') : null,
    }));
  }
  return next;
}

function onFrame(comparisons: LiveComparison[], frame: CompareServerFrame): LiveComparison[] {
  if (frame.type === 'compare_ack') {
    return comparisons.map((c) => {
      if (c.clientId !== frame.client_id) return c;
      let next: LiveComparison = { ...c, comparisonId: frame.comparison_id, phase: c.phase === 'done' ? 'done' : 'streaming' };
      for (const side of frame.sides) next = updateSide(next, side.slot, () => ({ model: side.model, jobId: side.job_id }));
      return next;
    });
  }
  const comparisonId = frame.type === 'compare_done' ? frame.comparison.id : frame.comparison_id;
  return comparisons.map((c) => {
    if (c.comparisonId !== comparisonId) return c;
    switch (frame.type) {
      case 'compare_emotion':
        return updateSide(c, frame.slot, () => ({ emotion: frame.emotion }));
      case 'compare_token':
        return updateSide(c, frame.slot, (side) => (side.tokens[frame.index] === undefined ? { tokens: { ...side.tokens, [frame.index]: frame.text } } : {}));
      case 'compare_reply':
        return updateSide(c, frame.slot, () => ({ reply: frame.reply, emotion: frame.reply.user_emotion }));
      case 'compare_error':
        return updateSide(c, frame.slot, () => ({ error: frame.message }));
      case 'compare_done':
        return { ...applyStored(c, frame.comparison), phase: 'done' };
    }
  });
}

export function comparisonsReducer(comparisons: LiveComparison[], action: ComparisonAction): LiveComparison[] {
  switch (action.type) {
    case 'sent':
      return [
        ...comparisons,
        {
          clientId: action.clientId,
          content: action.content,
          comparisonId: null,
          sides: { a: blankSide('a'), b: blankSide('b') },
          phase: 'sending',
          error: null,
          preferred: null,
          adoptedMessageId: null,
        },
      ];
    case 'frame':
      return onFrame(comparisons, action.frame);
    case 'rejected':
      return comparisons.map((c) => (c.clientId === action.clientId ? { ...c, phase: 'failed', error: action.message } : c));
    case 'preferred':
      return comparisons.map((c) => (c.comparisonId === action.comparison.id ? applyStored(c, action.comparison) : c));
    case 'reset':
      return [];
  }
}
