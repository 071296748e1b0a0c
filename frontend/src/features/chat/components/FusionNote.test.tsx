import { render, screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import type { EmotionReading, FusedEmotion } from '@/lib/protocol';
import { MessageBubble } from './MessageBubble';

// The reply's verdict, which a user's message shares: checked, nothing to watch.
const safe = { crisis: false, toxic: false, level: 'none' as const, reasons: [], resources: [], language: null, session_risk: false, fixed_reply: false };
const text = { label: 'sadness', scores: { sadness: 0.8, joy: 0.2 }, model: 'text-emotion', fusion: null };
const face = { label: 'happy', scores: { happy: 0.9, sad: 0.1 }, model: 'face-emotion', fusion: null };

function fused(fusion: FusedEmotion, label = 'sad'): EmotionReading {
  return { label, scores: { sad: 0.52, happy: 0.48 }, model: null, fusion };
}

describe('a message sent with a photo shows both readings', () => {
  it('says when words and face agree, with the raised confidence', () => {
    const reading = fused({ source: 'fused_aligned', confidence: 0.92, text: { ...text, label: 'joy' }, face, face_error: null }, 'happy');
    render(<MessageBubble role="user" content="good news!" emotion={reading} safety={safe} />);
    const note = screen.getByTestId('emotion-fusion');
    expect(note).toHaveAttribute('data-source', 'fused_aligned');
    expect(note).toHaveTextContent('words and face agree (92%) · words: joy · face: happy');
  });

  it('reports a disagreement with each reading', () => {
    render(<MessageBubble role="user" content="I'm fine" emotion={fused({ source: 'fused_conflict', confidence: 0.52, text, face, face_error: null })} safety={safe} />);
    expect(screen.getByTestId('emotion-fusion')).toHaveTextContent('words and face differ · words: sadness · face: happy');
  });

  it('says why a photo was not read', () => {
    const reading = { ...text, fusion: { source: 'text_only' as const, confidence: 0.8, text, face: null, face_error: 'the photo could not be decoded' } };
    render(<MessageBubble role="user" content="hi" emotion={reading} safety={safe} />);
    expect(screen.getByTestId('emotion-fusion')).toHaveTextContent('photo not read: the photo could not be decoded · words: sadness');
  });

  it('leaves a cheerful reading out of a turn the safety layer watches', () => {
    const reading = fused({ source: 'fused_conflict', confidence: 0.5, text, face, face_error: null }, 'happy');
    const crisis = { crisis: true, toxic: false, level: 'ideation' as const, language: 'en', session_risk: false, fixed_reply: true, reasons: [], resources: [] };
    render(<MessageBubble role="user" content="I can't go on" emotion={reading} safety={crisis} />);
    const note = screen.getByTestId('emotion-fusion');
    expect(note).toHaveTextContent('words and face differ · words: sadness · face: …');
    expect(screen.getByRole('article')).not.toHaveTextContent('happy');
  });

  it('shows nothing extra for a message without a photo, or on a reply', () => {
    render(<MessageBubble role="user" content="hi" emotion={{ ...text, fusion: null }} />);
    render(<MessageBubble role="assistant" content="hello" emotion={fused({ source: 'fused_conflict', confidence: 0.5, text, face, face_error: null })} />);
    expect(screen.queryByTestId('emotion-fusion')).not.toBeInTheDocument();
  });
});
