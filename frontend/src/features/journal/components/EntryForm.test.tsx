import { screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { renderWithProviders, stubApi } from '@/test/render';
import { EntryForm } from './EntryForm';

afterEach(() => vi.unstubAllGlobals());

describe('EntryForm', () => {
  it('keeps a 14,000-character entry whole, says it is over the limit and saves nothing', async () => {
    const calls = stubApi({
      'GET /api/limits': () => ({ message_chars: 4000, journal_chars: 10_000 }),
      'POST /api/journal': () => ({}),
    });
    renderWithProviders(<EntryForm />);
    const box = screen.getByLabelText('New entry') as HTMLTextAreaElement;
    expect(await screen.findByTestId('length-counter')).toHaveTextContent('0 / 10,000 characters');
    const pasted = 'a'.repeat(14_000);
    await userEvent.click(box);
    await userEvent.paste(pasted);
    expect(box.value).toBe(pasted);
    expect(screen.getByTestId('length-counter')).toHaveTextContent('14,000 / 10,000 characters');
    expect(screen.getByRole('alert')).toHaveTextContent('This entry is 4,000 characters over the limit of 10,000');
    expect(screen.getByRole('button', { name: 'Save entry' })).toBeDisabled();
    expect(calls.filter((call) => call.method === 'POST')).toHaveLength(0);
  });
});
