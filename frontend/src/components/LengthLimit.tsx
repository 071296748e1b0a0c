import { NEAR_LIMIT } from '@/lib/limits';

interface Props {
  id: string;
  count: number;
  limit: number;
  /** What the text is, in the message shown over the limit ("message", "entry"). */
  noun: string;
  /** Show the counter from the first character, not only near the limit. */
  always?: boolean;
}

/** A character counter that appears near a limit, and says plainly what to do past it. */
export function LengthLimit({ id, count, limit, noun, always = false }: Props) {
  const over = count > limit;
  if (!always && count < limit * NEAR_LIMIT) return null;
  return (
    <div id={id} className="flex flex-col gap-1 text-xs">
      <span data-testid="length-counter" className={over ? 'font-semibold text-rose-700' : 'text-slate-500'}>
        {count.toLocaleString()} / {limit.toLocaleString()} characters
      </span>
      {over && (
        <p role="alert" className="text-rose-800">
          This {noun} is {(count - limit).toLocaleString()} characters over the limit of {limit.toLocaleString()}. Shorten it or split it
          into parts before sending.
        </p>
      )}
    </div>
  );
}
