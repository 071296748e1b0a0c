import { describe, expect, it } from 'vitest';
import { emotionStyle } from './EmotionBadge';

describe('emotionStyle', () => {
  it('colours a fine-grained chat emotion like its Ekman family', () => {
    expect(emotionStyle('grief')).toBe(emotionStyle('sadness'));
    expect(emotionStyle('gratitude')).toBe(emotionStyle('joy'));
    expect(emotionStyle('nervousness')).toBe(emotionStyle('fear'));
    expect(emotionStyle('curiosity')).toBe(emotionStyle('surprise'));
  });

  it('keeps the journal moods their own colours and gives the rest the plain style', () => {
    expect(emotionStyle('love')).not.toBe(emotionStyle('joy'));
    expect(emotionStyle('neutral')).toBe(emotionStyle('disgust'));
    expect(emotionStyle('neutral')).toContain('slate');
  });
});
