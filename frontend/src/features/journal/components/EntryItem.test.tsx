import { screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { JournalEntryPublic } from '@/lib/protocol';
import { renderWithProviders, stubApi } from '@/test/render';
import { EntryItem, LONG_ENTRY_CHARS } from './EntryItem';

afterEach(() => {
  vi.unstubAllGlobals();
});

const entry = (text: string): JournalEntryPublic => ({
  id: 7, text, mood: 'joy', mood_scores: null, classifier_version: 'v1', created_at: '2026-01-01T00:00:00Z', updated_at: '2026-01-01T00:00:00Z',
});

describe('EntryItem', () => {
  it('shows a long entry folded until asked, and folds it again', async () => {
    stubApi({ 'GET /api/limits': () => ({ message_chars: 4000, journal_chars: 10_000 }) });
    renderWithProviders(<EntryItem entry={entry('A long day. '.repeat(LONG_ENTRY_CHARS / 10))} />);
    const text = screen.getByText(/A long day/);
    const toggle = screen.getByRole('button', { name: 'Show all' });
    expect(text).toHaveClass('line-clamp-6');
    expect(toggle).toHaveAttribute('aria-expanded', 'false');
    await userEvent.click(toggle);
    expect(text).not.toHaveClass('line-clamp-6');
    expect(screen.getByRole('button', { name: 'Show less' })).toHaveAttribute('aria-expanded', 'true');
  });

  it('shows a short entry whole, with nothing to unfold', () => {
    stubApi({ 'GET /api/limits': () => ({ message_chars: 4000, journal_chars: 10_000 }) });
    renderWithProviders(<EntryItem entry={entry('A good day.')} />);
    expect(screen.getByText('A good day.')).not.toHaveClass('line-clamp-6');
    expect(screen.queryByRole('button', { name: 'Show all' })).not.toBeInTheDocument();
  });
});
