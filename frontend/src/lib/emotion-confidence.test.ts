import { describe, expect, it } from 'vitest';
import { emotionToShow, watchedBySafety } from './emotion-confidence';

const reading = (scores: Record<string, number>) => ({ label: Object.keys(scores)[0] ?? '', scores, model: null, fusion: null });

describe('emotionToShow', () => {
  it('shows nothing when the classifier is unsure, as with the six moods on a crisis message', () => {
    expect(emotionToShow(reading({ anger: 0.41, sadness: 0.3, fear: 0.2 }), false)).toEqual([]);
    expect(emotionToShow(reading({}), false)).toEqual([]);
    expect(emotionToShow(null, false)).toEqual([]);
  });

  it('shows a clear winner alone and the runner-up beside it when close', () => {
    expect(emotionToShow(reading({ sadness: 0.8, fear: 0.1 }), false)).toEqual([{ label: 'sadness', score: 0.8 }]);
    expect(emotionToShow(reading({ fear: 0.45, sadness: 0.55, joy: 0.1 }), false)).toEqual([
      { label: 'sadness', score: 0.55 },
      { label: 'fear', score: 0.45 },
    ]);
  });

  it('ranks by score, not by the reading label (a multi-label reading may name a lower one)', () => {
    expect(emotionToShow({ label: 'grief', scores: { grief: 0.2, neutral: 0.7 }, model: null, fusion: null }, false)).toEqual([{ label: 'neutral', score: 0.7 }]);
  });

  it('never shows a cheerful reading on a turn the safety layer is watching', () => {
    expect(emotionToShow(reading({ love: 0.9 }), true)).toEqual([]);
    expect(emotionToShow(reading({ joy: 0.56, sadness: 0.5 }), true)).toEqual([{ label: 'sadness', score: 0.5 }]);
    expect(emotionToShow(reading({ disapproval: 0.7 }), true)).toEqual([{ label: 'disapproval', score: 0.7 }]);
  });
});

describe('watchedBySafety', () => {
  const verdict = { crisis: false, toxic: false, reasons: [], resources: [], level: 'none' as const, language: null, session_risk: false, fixed_reply: false };
  it('watches crises, worries about others, crisis sessions and turns not yet checked', () => {
    expect(watchedBySafety({ ...verdict, crisis: true })).toBe(true);
    expect(watchedBySafety({ ...verdict, level: 'third_party' })).toBe(true);
    expect(watchedBySafety({ ...verdict, level: 'none', session_risk: true })).toBe(true);
    expect(watchedBySafety(undefined)).toBe(true);
    expect(watchedBySafety({ ...verdict, level: 'none' })).toBe(false);
    expect(watchedBySafety(null)).toBe(false);
  });
});
