import { ErrorAlert } from '@/components/ErrorAlert';
import { Composer } from './Composer';
import { Welcome } from './Welcome';

interface Props {
  onSend: (text: string) => void;
  sending: boolean;
  error: unknown;
  /** Text to put back in the box after a failed start. */
  draft?: string;
}

/** The chat before any conversation exists: the welcome and a box to type in at once; sending starts one. */
export function StartConversation({ onSend, sending, error, draft }: Props) {
  return (
    <section aria-label="New conversation" className="flex min-h-0 flex-1 flex-col">
      <div className="flex flex-1 flex-col justify-center overflow-y-auto">
        <Welcome />
      </div>
      <ErrorAlert error={error} />
      <Composer key={draft} onSend={onSend} onStop={() => {}} replying={false} disabled={sending} autoFocus initialText={draft} />
    </section>
  );
}
