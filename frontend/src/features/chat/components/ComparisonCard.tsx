import { useMutation, useQueryClient } from '@tanstack/react-query';
import { Button } from '@/components/Button';
import { ErrorAlert } from '@/components/ErrorAlert';
import type { ComparisonPublic, Preference, Slot } from '@/lib/protocol';
import { chatKeys, choosePreference } from '../api/chat-api';
import { sideStreaming, sideText, type LiveComparison } from '../hooks/comparisons';
import { MessageBubble } from './MessageBubble';

const SLOTS: Slot[] = ['a', 'b'];
const CHOICE_LABEL: Record<Preference, string> = { a: 'A is better', b: 'B is better', tie: 'About the same' };

/** One message answered by two models side by side, and the buttons to pick the better answer. */
export function ComparisonCard({ comparison, sessionId, onChosen }: { comparison: LiveComparison; sessionId: string; onChosen: (stored: ComparisonPublic) => void }) {
  const queryClient = useQueryClient();
  const choose = useMutation({
    mutationFn: (choice: Preference) => choosePreference(comparison.comparisonId!, choice),
    onSuccess: (stored) => {
      onChosen(stored);
      void queryClient.invalidateQueries({ queryKey: chatKeys.messages(sessionId) });
      // An adopted first message names the conversation.
      void queryClient.invalidateQueries({ queryKey: chatKeys.sessions });
    },
  });
  const finished = comparison.phase === 'done';
  return (
    <section aria-label="Comparison" data-testid="comparison" data-phase={comparison.phase} className="rounded-lg border border-indigo-200 bg-indigo-50/50 p-2">
      <MessageBubble
        role="user"
        content={comparison.content}
        emotion={comparison.sides.a.emotion ?? comparison.sides.b.emotion}
        safety={(comparison.sides.a.reply ?? comparison.sides.b.reply)?.safety}
        error={comparison.phase === 'failed' ? comparison.error : null}
      />
      {comparison.phase !== 'failed' && (
        <div className="mt-2 grid gap-2 md:grid-cols-2">
          {SLOTS.map((slot) => {
            const side = comparison.sides[slot];
            return (
              <div key={slot} data-testid={`comparison-side-${slot}`} className="flex min-w-0 flex-col gap-1">
                <p className="text-xs font-semibold text-slate-700">
                  {slot.toUpperCase()} · {side.model ?? '…'}
                  {comparison.preferred === slot && <span className="ml-1 rounded-full bg-indigo-600 px-2 py-0.5 text-white">preferred</span>}
                </p>
                <MessageBubble
                  role="assistant"
                  content={sideText(side)}
                  emotion={side.reply?.reply_emotion}
                  alignment={side.reply?.alignment}
                  safety={side.reply?.safety}
                  status={side.error ? 'error' : side.reply?.status}
                  model={side.reply?.model}
                  streaming={sideStreaming(comparison, side)}
                  error={side.error}
                />
                {side.reply?.duration_ms != null && (
                  <p className="text-xs text-slate-500">
                    first token {Math.round(side.reply.ttft_ms ?? 0)} ms · total {Math.round(side.reply.duration_ms)} ms
                  </p>
                )}
              </div>
            );
          })}
        </div>
      )}
      {finished && (
        <div role="group" aria-label="Which answer is better?" className="mt-2 flex flex-wrap items-center gap-2">
          {(['a', 'b', 'tie'] as Preference[]).map((choice) => (
            <Button
              key={choice}
              variant={comparison.preferred === choice ? 'primary' : 'secondary'}
              aria-pressed={comparison.preferred === choice}
              disabled={choose.isPending || (choice !== 'tie' && comparison.sides[choice as Slot].reply?.status !== 'complete')}
              onClick={() => choose.mutate(choice)}
            >
              {CHOICE_LABEL[choice]}
            </Button>
          ))}
          {comparison.adoptedMessageId !== null && <span className="text-xs text-slate-600">The chosen answer is now part of the conversation.</span>}
        </div>
      )}
      <ErrorAlert error={choose.error} />
    </section>
  );
}
