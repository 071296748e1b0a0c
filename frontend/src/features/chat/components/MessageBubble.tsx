import { ReadingBadge } from '@/components/EmotionBadge';
import { emotionToShow, watchedBySafety } from '@/lib/emotion-confidence';
import type { EmotionReading, SafetyVerdict } from '@/lib/protocol';
import { CrisisResources } from './CrisisResources';
import { FusionNote } from './FusionNote';
import { Markdown } from './Markdown';

export interface BubbleProps {
  role: 'user' | 'assistant';
  content: string;
  emotion?: EmotionReading | null;
  alignment?: number | null;
  /** The turn's verdict: a user message gets its reply's; `undefined` while the reply is still coming. */
  safety?: SafetyVerdict | null;
  status?: string;
  model?: string | null;
  cached?: boolean;
  streaming?: boolean;
  error?: string | null;
  /** `length`: the reply reached its token limit and was cut back to its last complete sentence. */
  finishReason?: string | null;
}

/** Why a stored reply ended (`message.extras.finish_reason`), when the server said. */
export function finishReasonOf(message: { extras?: Record<string, unknown> } | null | undefined): string | null {
  const reason = message?.extras?.finish_reason;
  return typeof reason === 'string' ? reason : null;
}

const SAFETY_HEADINGS = {
  en: {
    imminent: 'Your safety comes first. If you are in danger, call emergency services now.',
    ideation: "You don't have to go through this alone.",
    third_party: 'How to help someone you are worried about',
    session: 'Help is here whenever you need it:',
  },
  es: {
    imminent: 'Lo primero es tu seguridad. Si estás en peligro, llama ahora a emergencias.',
    ideation: 'No tienes que pasar por esto solo ni sola.',
    third_party: 'Cómo ayudar a alguien que te preocupa',
    session: 'La ayuda sigue aquí cuando la necesites:',
  },
} as const;

type SafetyKind = 'imminent' | 'ideation' | 'third_party';

/** Which fixed safety reply this is (none for a generated one); old rows carry only `crisis`. */
function safetyKind(safety: SafetyVerdict | null | undefined): SafetyKind | null {
  if (!safety) return null;
  if (safety.level === 'imminent' || safety.level === 'ideation' || safety.level === 'third_party') {
    return safety.fixed_reply === false ? null : safety.level;
  }
  return safety.crisis ? 'ideation' : null;
}

export function MessageBubble({ role, content, emotion, alignment, safety, status, model, cached, streaming, error, finishReason }: BubbleProps) {
  const kind = role === 'assistant' ? safetyKind(safety) : null;
  const crisis = kind === 'imminent' || kind === 'ideation';
  // A fixed text of the safety layer is not the model's words: no reply emotion, no alignment.
  const fixed = role === 'assistant' && (kind !== null || safety?.fixed_reply === true);
  const followUp = role === 'assistant' && kind === null && safety?.session_risk === true && (safety.resources?.length ?? 0) > 0;
  const shownEmotion = fixed ? [] : emotionToShow(emotion, watchedBySafety(safety));
  const headings = safety?.language === 'es' ? SAFETY_HEADINGS.es : SAFETY_HEADINGS.en;
  const shell =
    role === 'user'
      ? 'ml-auto bg-indigo-600 text-white'
      : kind === 'imminent'
        ? 'border-2 border-rose-600 bg-rose-50 text-slate-900'
        : crisis
          ? 'border-2 border-rose-400 bg-rose-50 text-slate-900'
          : kind === 'third_party'
            ? 'border-2 border-amber-400 bg-amber-50 text-slate-900'
            : 'border border-slate-200 bg-white text-slate-900';
  return (
    <article
      aria-label={role === 'user' ? 'Your message' : crisis ? 'Support resources' : kind === 'third_party' ? 'How to help' : 'Reply'}
      data-role={role}
      data-status={streaming ? 'streaming' : status}
      // The conversation is a polite live region: a reply being streamed is announced once, whole.
      aria-busy={streaming || undefined}
      data-safety-level={kind ?? undefined}
      // Whether a reading arrived and was shown or held back as unsure (tests and styling read it).
      data-emotion={emotion ? (shownEmotion.length > 0 ? 'shown' : 'withheld') : undefined}
      className={`max-w-[85%] rounded-lg px-3 py-2 text-sm shadow-sm sm:max-w-[75%] ${shell}`}
    >
      {kind && (
        <p className={`mb-1 font-semibold ${kind === 'third_party' ? 'text-amber-900' : 'text-rose-800'}`}>{headings[kind]}</p>
      )}
      {role === 'user' ? <p className="whitespace-pre-wrap break-words">{content}</p> : <Markdown text={content} />}
      {streaming && (
        <span role="status" aria-label="Attune is typing" className="mt-1 inline-flex gap-1" data-testid="typing-indicator">
          <span className="h-1.5 w-1.5 animate-bounce rounded-full bg-slate-400" />
          <span className="h-1.5 w-1.5 animate-bounce rounded-full bg-slate-400 [animation-delay:120ms]" />
          <span className="h-1.5 w-1.5 animate-bounce rounded-full bg-slate-400 [animation-delay:240ms]" />
        </span>
      )}
      {kind && safety && <CrisisResources resources={safety.resources} language={safety.language} />}
      {followUp && safety && (
        <details className="mt-2 rounded border border-rose-200 bg-rose-50 px-2 py-1 text-slate-900">
          <summary className="cursor-pointer text-xs font-medium text-rose-800">{headings.session}</summary>
          <CrisisResources resources={safety.resources} language={safety.language} />
        </details>
      )}
      {error && (
        <p role="alert" className="mt-1 text-xs font-medium text-rose-200">
          {error}
        </p>
      )}
      <div className="mt-1 flex flex-wrap items-center gap-1">
        <ReadingBadge shown={shownEmotion} prefix={role === 'user' ? 'you feel' : 'reply'} />
        {role === 'user' && emotion?.fusion && <FusionNote fusion={emotion.fusion} watched={watchedBySafety(safety)} />}
        {role === 'assistant' && !fixed && alignment !== null && alignment !== undefined && (
          <span className="rounded-full bg-teal-100 px-2 py-0.5 text-xs font-medium text-teal-900" title="How well the reply's emotion matches yours">
            alignment {alignment.toFixed(2)}
          </span>
        )}
        {role === 'assistant' && finishReason === 'length' && !streaming && (
          <span className="rounded-full bg-amber-100 px-2 py-0.5 text-xs text-amber-900" data-testid="length-note" title="The reply reached its token limit and was shortened to its last complete sentence">
            reply cut at the length limit
          </span>
        )}
        {status === 'cancelled' && <span className="rounded-full bg-slate-200 px-2 py-0.5 text-xs text-slate-700">stopped</span>}
        {status === 'error' && <span className="rounded-full bg-rose-200 px-2 py-0.5 text-xs text-rose-900">failed</span>}
        {fixed && !streaming && (
          <span className="text-xs text-slate-500" data-testid="fixed-reply" title="A fixed message of Attune's safety layer, not written by a model">
            safety message · not written by a model
          </span>
        )}
        {role === 'assistant' && model && !streaming && !fixed && (
          <span className="text-xs text-slate-500" data-testid="reply-model" data-model={model}>
            {model}
            {cached ? ' · cached' : ''}
          </span>
        )}
      </div>
    </article>
  );
}
