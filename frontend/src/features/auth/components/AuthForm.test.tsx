import { screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiAnswer, renderWithProviders, stubApi } from '@/test/render';
import { AuthForm } from './AuthForm';

afterEach(() => vi.unstubAllGlobals());

async function signUp(email: string, password: string) {
  await userEvent.type(screen.getByLabelText('Email'), email);
  await userEvent.type(screen.getByLabelText('Password'), password);
  await userEvent.click(screen.getByRole('button', { name: 'Sign up' }));
}

describe('AuthForm (sign up)', () => {
  it('clears "already exists" as soon as the person edits the form', async () => {
    stubApi({ 'POST /api/auth/signup': () => new ApiAnswer(409, { detail: { code: 'email_taken', message: 'An account with this email already exists.' } }) });
    renderWithProviders(<AuthForm mode="signup" />);
    await signUp('sam@example.com', 'correct horse battery');
    expect(await screen.findByRole('alert')).toHaveTextContent('An account with this email already exists.');
    await userEvent.type(screen.getByLabelText('Display name (optional)'), 'S');
    expect(screen.queryByRole('alert')).not.toBeInTheDocument();
  });

  it('says what is wrong with an email address in words, not the validator\'s text', async () => {
    const reason = 'The part after the @-sign is not valid. It should have a period.';
    stubApi({
      'POST /api/auth/signup': () =>
        new ApiAnswer(422, { detail: [{ type: 'value_error', loc: ['body', 'email'], msg: `value is not a valid email address: ${reason}`, ctx: { reason } }] }),
    });
    renderWithProviders(<AuthForm mode="signup" />);
    await signUp('a@b', 'correct horse battery');
    const alert = await screen.findByRole('alert');
    expect(alert).toHaveTextContent('Check the email address: the part after the @-sign is not valid. It should have a period.');
    expect(alert).not.toHaveTextContent('value is not a valid');
    expect(alert).not.toHaveTextContent('email:');
  });

  it('shows why the server refused an easily guessed password, and advises how to choose one', async () => {
    const message = 'This password is too easy to guess. This is a top-10 common password. Add another word or two. Uncommon words are better.';
    stubApi({ 'POST /api/auth/signup': () => new ApiAnswer(422, { detail: { code: 'weak_password', message } }) });
    renderWithProviders(<AuthForm mode="signup" />);
    expect(screen.getByText(/a few unrelated words work well/)).toBeInTheDocument();
    await signUp('sam@example.com', 'password');
    expect(await screen.findByRole('alert')).toHaveTextContent(message);
    await userEvent.type(screen.getByLabelText('Password'), ' horse');
    expect(screen.queryByRole('alert')).not.toBeInTheDocument();
  });
});
