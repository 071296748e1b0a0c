import { render, screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import type { JournalStats } from '@/lib/protocol';
import { MoodOverTime } from './MoodCharts';

const day = (start: string, counts: JournalStats['buckets'][number]['counts']) => ({ start, counts, mean_scores: {} });

describe('MoodOverTime', () => {
  it('draws one period as bars side by side, so moods with equal counts do not share one dot', () => {
    render(<MoodOverTime stats={{ buckets: [day('2026-01-01', { joy: 1, sadness: 1, fear: 1, anger: 1 })], totals: {} }} />);
    expect(screen.getByTestId('mood-over-time')).toHaveAttribute('data-kind', 'bars');
  });

  it('draws lines once there are several periods', () => {
    const buckets = [day('2026-01-01', { joy: 1 }), day('2026-01-02', { joy: 2 })];
    render(<MoodOverTime stats={{ buckets, totals: {} }} />);
    expect(screen.getByTestId('mood-over-time')).toHaveAttribute('data-kind', 'lines');
  });
});
