import { percent, type ShownEmotion } from '@/lib/emotion-confidence';

// Colours for the six journal moods. The chat classifier's 28 GoEmotions labels take the colour
// of their Ekman family (the dataset's own ekman_mapping); disgust and neutral get the plain style.
const MOOD_STYLES: Record<string, string> = {
  joy: 'bg-amber-100 text-amber-900',
  love: 'bg-pink-100 text-pink-900',
  surprise: 'bg-violet-100 text-violet-900',
  sadness: 'bg-sky-100 text-sky-900',
  fear: 'bg-emerald-100 text-emerald-900',
  anger: 'bg-rose-100 text-rose-900',
  pending: 'bg-slate-100 text-slate-600 italic',
};

const EKMAN_FAMILY: Record<string, string> = Object.fromEntries(
  Object.entries({
    anger: ['annoyance', 'disapproval'],
    fear: ['nervousness'],
    joy: ['amusement', 'approval', 'excitement', 'gratitude', 'optimism', 'relief', 'pride', 'admiration', 'desire', 'caring'],
    sadness: ['disappointment', 'embarrassment', 'grief', 'remorse'],
    surprise: ['realization', 'confusion', 'curiosity'],
  }).flatMap(([family, labels]) => labels.map((label) => [label, family])),
);

export function emotionStyle(label: string): string {
  const family = EKMAN_FAMILY[label];
  return MOOD_STYLES[label] ?? (family ? MOOD_STYLES[family] : undefined) ?? 'bg-slate-200 text-slate-800';
}

export const MOOD_COLORS: Record<string, string> = {
  joy: '#d97706',
  love: '#db2777',
  surprise: '#7c3aed',
  sadness: '#0284c7',
  fear: '#059669',
  anger: '#e11d48',
};

export function EmotionBadge({ label, title, prefix }: { label: string; title?: string; prefix?: string }) {
  return (
    <span title={title} className={`inline-flex items-center rounded-full px-2 py-0.5 text-xs font-medium ${emotionStyle(label)}`}>
      {prefix && <span className="mr-1 font-normal opacity-75">{prefix}</span>}
      {label}
    </span>
  );
}

/** A classifier's reading with its confidence: "sadness 72%", or "sadness 52% · fear 45%" when close. */
export function ReadingBadge({ shown, prefix }: { shown: ShownEmotion[]; prefix: string }) {
  const [top] = shown;
  if (!top) return null;
  return (
    <span data-testid="emotion-badge" className={`inline-flex items-center rounded-full px-2 py-0.5 text-xs font-medium ${emotionStyle(top.label)}`}>
      <span className="mr-1 font-normal opacity-75">{prefix}</span>{' '}
      {shown.map((item) => `${item.label} ${percent(item.score)}`).join(' · ')}
    </span>
  );
}
