import type { EmotionReading, SafetyVerdict } from './protocol';

// The classifiers are often confidently wrong on short or unusual messages (a crisis message read
// as "anger" or "disapproval"), and a badge reads as a verdict. So a badge needs a clear winner:
// below SHOW_AT the model is guessing and nothing is shown; a runner-up within CLOSE_WITHIN of the
// top score is shown beside it, because the model cannot tell the two apart.
export const SHOW_AT = 0.5;
export const CLOSE_WITHIN = 0.1;

// GoEmotions' own sentiment mapping: its "positive" and "ambiguous" groups, plus the journal
// moods and the face classes (a photo's fused reading) that fall in them. On a turn the safety
// layer is watching, such a badge would tell a person in crisis they sound happy or surprised:
// a smiling photo must not do that either.
const CHEERFUL = new Set([
  'joy', 'love', 'surprise', 'amusement', 'excitement', 'gratitude', 'optimism', 'pride', 'relief', 'admiration',
  'approval', 'caring', 'desire', 'realization', 'curiosity', 'confusion', 'happy',
]);

/** A label the safety rule keeps off a watched turn. */
export const isCheerful = (label: string) => CHEERFUL.has(label);

export interface ShownEmotion {
  label: string;
  score: number;
}

/**
 * Whether a turn's verdict forbids cheerful badges: it is a crisis, a worry about someone else or
 * a later turn of a crisis session. `undefined` means the safety layer has not answered yet (the
 * reply is still coming), which holds them back too; `null` is a turn stored without a verdict.
 */
export function watchedBySafety(safety: SafetyVerdict | null | undefined): boolean {
  if (safety === undefined) return true;
  if (safety === null) return false;
  return safety.crisis || (safety.level !== undefined && safety.level !== 'none') || safety.session_risk === true;
}

/** The readings worth a badge, most probable first: none, the top one, or the top two when close. */
export function emotionToShow(reading: EmotionReading | null | undefined, watched: boolean): ShownEmotion[] {
  if (!reading) return [];
  const ranked = Object.entries(reading.scores)
    .map(([label, score]) => ({ label, score }))
    .sort((a, b) => b.score - a.score);
  const [top, second] = ranked;
  if (!top || top.score < SHOW_AT) return [];
  const shown = second && top.score - second.score <= CLOSE_WITHIN + 1e-9 ? [top, second] : [top];
  return watched ? shown.filter((item) => !isCheerful(item.label)) : shown;
}

export const percent = (score: number) => `${Math.round(score * 100)}%`;
