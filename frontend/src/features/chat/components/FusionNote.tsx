import { isCheerful, percent } from '@/lib/emotion-confidence';
import type { FusedEmotion } from '@/lib/protocol';

/**
 * How a message sent with a photo was read: both readings, and whether they agree (docs/protocol.md,
 * "Photos"). On a turn the safety layer watches, a cheerful reading is left out, as the badges do.
 */
export function FusionNote({ fusion, watched = false }: { fusion: FusedEmotion; watched?: boolean }) {
  const { source, text, face } = fusion;
  const named = (label: string) => (watched && isCheerful(label) ? '…' : label);
  const readings = `words: ${named(text.label)}${face ? ` · face: ${named(face.label)}` : ''}`;
  const summary =
    source === 'fused_aligned'
      ? `words and face agree (${percent(fusion.confidence)})`
      : source === 'fused_conflict'
        ? 'words and face differ'
        : `photo not read${fusion.face_error ? `: ${fusion.face_error}` : ''}`;
  return (
    <span
      className="rounded-full bg-white/20 px-2 py-0.5 text-xs"
      data-testid="emotion-fusion"
      data-source={source}
      title="Attune read your emotion from your words and the photo you attached; the photo was not stored"
    >
      {summary} · {readings}
    </span>
  );
}
