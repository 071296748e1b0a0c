import { useState, type FormEvent, type KeyboardEvent } from 'react';
import { Button } from '@/components/Button';

const MAX_CONTENT = 4000;

export function Composer({ onSend, onStop, replying, disabled }: { onSend: (text: string) => void; onStop: () => void; replying: boolean; disabled: boolean }) {
  const [text, setText] = useState('');
  const trimmed = text.trim();

  const submit = (event?: FormEvent) => {
    event?.preventDefault();
    if (!trimmed || replying || trimmed.length > MAX_CONTENT) return;
    onSend(trimmed);
    setText('');
  };

  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.nativeEvent.isComposing) submit(event);
  };

  return (
    <form onSubmit={submit} className="flex items-end gap-2 border-t border-slate-200 bg-white p-3">
      <label htmlFor="composer" className="sr-only">
        Message
      </label>
      <textarea
        id="composer"
        rows={2}
        value={text}
        onChange={(event) => setText(event.target.value)}
        onKeyDown={onKeyDown}
        maxLength={MAX_CONTENT}
        placeholder="How are you feeling today? (Enter to send, Shift+Enter for a new line)"
        className="min-h-[2.75rem] flex-1 resize-y rounded-md border border-slate-300 px-3 py-2 text-sm focus-visible:outline-2 focus-visible:outline-indigo-600"
      />
      {replying ? (
        <Button variant="danger" onClick={onStop}>
          Stop
        </Button>
      ) : (
        <Button type="submit" disabled={disabled || !trimmed}>
          Send
        </Button>
      )}
    </form>
  );
}
