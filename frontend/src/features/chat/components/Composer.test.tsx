import { screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { renderWithProviders, stubApi } from '@/test/render';
import { Composer } from './Composer';

afterEach(() => vi.unstubAllGlobals());

function renderComposer(messageChars = 4000) {
  stubApi({ 'GET /api/limits': () => ({ message_chars: messageChars, journal_chars: 10_000 }) });
  const onSend = vi.fn();
  renderWithProviders(<Composer onSend={onSend} onStop={() => {}} replying={false} disabled={false} />);
  return onSend;
}

async function paste(text: string) {
  await userEvent.click(screen.getByLabelText('Message'));
  await userEvent.paste(text);
}

describe('Composer', () => {
  it('keeps a 20,000-character paste whole, says it is over the limit and sends nothing', async () => {
    const onSend = renderComposer();
    const pasted = 'word '.repeat(4000).trim(); // 19,999 characters
    await paste(pasted);
    const box = screen.getByLabelText('Message') as HTMLTextAreaElement;
    expect(box.value).toBe(pasted);
    expect(await screen.findByTestId('length-counter')).toHaveTextContent('19,999 / 4,000 characters');
    expect(screen.getByRole('alert')).toHaveTextContent('This message is 15,999 characters over the limit of 4,000');
    expect(screen.getByRole('button', { name: 'Send' })).toBeDisabled();
    await userEvent.type(box, '{Enter}');
    expect(onSend).not.toHaveBeenCalled();
    expect(box.value).toBe(pasted);
  });

  it('shows the counter only near the limit the server reports, and sends at the limit', async () => {
    const onSend = renderComposer(100);
    await paste('short');
    expect(screen.queryByTestId('length-counter')).not.toBeInTheDocument();
    await paste('x'.repeat(85));
    expect(await screen.findByTestId('length-counter')).toHaveTextContent('90 / 100 characters');
    expect(screen.queryByRole('alert')).not.toBeInTheDocument();
    await paste('x'.repeat(10));
    await userEvent.keyboard('{Enter}');
    expect(onSend).toHaveBeenCalledWith(`short${'x'.repeat(95)}`);
  });

  it('counts an emoji as one character, as the server does', async () => {
    renderComposer(100);
    await paste('😊'.repeat(90));
    expect(await screen.findByTestId('length-counter')).toHaveTextContent('90 / 100 characters');
  });
});
