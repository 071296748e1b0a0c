import { EmotionBadge } from '@/components/EmotionBadge';
import type { EmotionReading, SafetyVerdict } from '@/lib/protocol';
import { CrisisResources } from './CrisisResources';
import { Markdown } from './Markdown';

export interface BubbleProps {
  role: 'user' | 'assistant';
  content: string;
  emotion?: EmotionReading | null;
  alignment?: number | null;
  safety?: SafetyVerdict | null;
  status?: string;
  model?: string | null;
  cached?: boolean;
  streaming?: boolean;
  error?: string | null;
  /** `length`: the reply reached its token limit and was cut back to its last complete sentence. */
  finishReason?: string | null;
}

function topScore(emotion: EmotionReading): string {
  const score = emotion.scores[emotion.label];
  return score === undefined ? emotion.label : `${emotion.label} ${(score * 100).toFixed(0)}%`;
}

/** Why a stored reply ended (`message.extras.finish_reason`), when the server said. */
export function finishReasonOf(message: { extras?: Record<string, unknown> } | null | undefined): string | null {
  const reason = message?.extras?.finish_reason;
  return typeof reason === 'string' ? reason : null;
}

export function MessageBubble({ role, content, emotion, alignment, safety, status, model, cached, streaming, error, finishReason }: BubbleProps) {
  const crisis = role === 'assistant' && safety?.crisis === true;
  const shell =
    role === 'user'
      ? 'ml-auto bg-indigo-600 text-white'
      : crisis
        ? 'border-2 border-rose-400 bg-rose-50 text-slate-900'
        : 'border border-slate-200 bg-white text-slate-900';
  return (
    <article
      aria-label={role === 'user' ? 'Your message' : crisis ? 'Support resources' : 'Reply'}
      data-role={role}
      data-status={streaming ? 'streaming' : status}
      className={`max-w-[85%] rounded-lg px-3 py-2 text-sm shadow-sm sm:max-w-[75%] ${shell}`}
    >
      {crisis && <p className="mb-1 font-semibold text-rose-800">You don't have to go through this alone.</p>}
      {role === 'user' ? <p className="whitespace-pre-wrap break-words">{content}</p> : <Markdown text={content} />}
      {streaming && (
        <span role="status" aria-label="Attune is typing" className="mt-1 inline-flex gap-1" data-testid="typing-indicator">
          <span className="h-1.5 w-1.5 animate-bounce rounded-full bg-slate-400" />
          <span className="h-1.5 w-1.5 animate-bounce rounded-full bg-slate-400 [animation-delay:120ms]" />
          <span className="h-1.5 w-1.5 animate-bounce rounded-full bg-slate-400 [animation-delay:240ms]" />
        </span>
      )}
      {crisis && safety && <CrisisResources resources={safety.resources} />}
      {error && (
        <p role="alert" className="mt-1 text-xs font-medium text-rose-200">
          {error}
        </p>
      )}
      <div className="mt-1 flex flex-wrap items-center gap-1">
        {emotion && <EmotionBadge label={emotion.label} prefix={role === 'user' ? 'you feel' : 'reply'} title={topScore(emotion)} />}
        {role === 'assistant' && alignment !== null && alignment !== undefined && (
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
        {role === 'assistant' && model && !streaming && (
          <span className="text-xs text-slate-500" data-testid="reply-model" data-model={model}>
            {model}
            {cached ? ' · cached' : ''}
          </span>
        )}
      </div>
    </article>
  );
}
