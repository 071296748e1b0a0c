import { useState, type FormEvent, type KeyboardEvent } from 'react';
import { Button } from '@/components/Button';
import { LengthLimit } from '@/components/LengthLimit';
import { useLimits } from '@/hooks/useLimits';
import { charCount } from '@/lib/limits';

interface Props {
  onSend: (text: string) => void;
  onStop: () => void;
  replying: boolean;
  disabled: boolean;
  autoFocus?: boolean;
  initialText?: string;
}

export function Composer({ onSend, onStop, replying, disabled, autoFocus = false, initialText = '' }: Props) {
  const [text, setText] = useState(initialText);
  const limit = useLimits().data?.message_chars;
  const trimmed = text.trim();
  const count = charCount(trimmed);
  // Text over the limit stays in the box for the writer to shorten: it is never cut or sent.
  const over = limit !== undefined && count > limit;

  const submit = (event?: FormEvent) => {
    event?.preventDefault();
    if (!trimmed || replying || over) return;
    onSend(trimmed);
    setText('');
  };

  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.nativeEvent.isComposing) submit(event);
  };

  return (
    <form onSubmit={submit} className="flex flex-col gap-1 border-t border-slate-200 bg-white p-3">
      <div className="flex items-end gap-2">
        <label htmlFor="composer" className="sr-only">
          Message
        </label>
        <textarea
          id="composer"
          rows={2}
          value={text}
          autoFocus={autoFocus}
          onChange={(event) => setText(event.target.value)}
          onKeyDown={onKeyDown}
          aria-invalid={over || undefined}
          aria-describedby="composer-length"
          placeholder="How are you feeling today? (Enter to send, Shift+Enter for a new line)"
          className="min-h-[2.75rem] flex-1 resize-y rounded-md border border-slate-300 px-3 py-2 text-sm focus-visible:outline-2 focus-visible:outline-indigo-600"
        />
        {replying ? (
          <Button variant="danger" onClick={onStop}>
            Stop
          </Button>
        ) : (
          <Button type="submit" disabled={disabled || !trimmed || over}>
            Send
          </Button>
        )}
      </div>
      {limit !== undefined && <LengthLimit id="composer-length" count={count} limit={limit} noun="message" />}
    </form>
  );
}
