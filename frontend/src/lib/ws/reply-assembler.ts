import type { TokenFrame } from '../protocol';

/**
 * Puts the token deltas of one reply in `index` order exactly once. A resume after a reconnect
 * replays frames the client may already have shown, and frames may arrive out of order; a delta
 * is released only when every lower index has been released.
 */
export class ReplyAssembler {
  private nextIndex = 0;
  private readonly early = new Map<number, { text: string; eventId: string | undefined }>();
  private latestEventId: string | undefined;

  /** Returns the deltas this frame makes ready to show, in order (often none or one). */
  accept(frame: Pick<TokenFrame, 'index' | 'text' | 'event_id'>): string[] {
    if (frame.index < this.nextIndex || this.early.has(frame.index)) return [];
    // A cached reply's frames have no event id (null): there is no stream to resume.
    this.early.set(frame.index, { text: frame.text, eventId: frame.event_id ?? undefined });
    const ready: string[] = [];
    for (let next = this.early.get(this.nextIndex); next !== undefined; next = this.early.get(this.nextIndex)) {
      ready.push(next.text);
      this.latestEventId = next.eventId;
      this.early.delete(this.nextIndex);
      this.nextIndex += 1;
    }
    return ready;
  }

  /**
   * Remembers a non-token event (the emotion) as seen. Only events released in order count, so
   * a resume `after` this id never skips a delta that arrived early and is still held back.
   */
  noteEvent(eventId: string | null | undefined): void {
    if (eventId != null) this.latestEventId = eventId;
  }

  get lastEventId(): string | undefined {
    return this.latestEventId;
  }

  get releasedCount(): number {
    return this.nextIndex;
  }
}
