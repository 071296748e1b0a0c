import { percent } from '@/lib/emotion-confidence';
import type { FusedEmotion } from '@/lib/protocol';

/** How a message sent with a photo was read: both readings, and whether they agree (docs/protocol.md, "Photos"). */
export function FusionNote({ fusion }: { fusion: FusedEmotion }) {
  const { source, text, face } = fusion;
  const readings = `words: ${text.label}${face ? ` · face: ${face.label}` : ''}`;
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
