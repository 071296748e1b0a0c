import { api } from './api-client';
import type { LimitsPublic } from './protocol';

export const limitsKey = ['limits'] as const;

/** The lengths the server enforces (`GET /api/limits`); the one source of the numbers the UI shows. */
export const fetchLimits = () => api<LimitsPublic>('/api/limits');

const SURROGATE_PAIR = /[\uD800-\uDBFF][\uDC00-\uDFFF]/g;

/** Characters as the server counts them: code points, so an emoji is one, not two UTF-16 units. */
export function charCount(text: string): number {
  return text.length - (text.match(SURROGATE_PAIR)?.length ?? 0);
}

/** From this share of a limit on, the counter is shown. */
export const NEAR_LIMIT = 0.8;
