import { afterEach, describe, expect, it, vi } from 'vitest';
import { api, ApiError } from './api-client';
import { getToken, setToken } from './auth-token';

function answer(status: number, body: unknown) {
  vi.stubGlobal('fetch', vi.fn(async () => new Response(JSON.stringify(body), { status })));
}

afterEach(() => {
  vi.unstubAllGlobals();
  setToken(null);
});

describe('api client', () => {
  it('sends the bearer token and JSON body', async () => {
    setToken('abc');
    answer(200, { ok: true });
    await api('/api/journal', { method: 'POST', body: { text: 'hi' } });
    const [url, init] = vi.mocked(fetch).mock.calls[0]!;
    expect(url).toBe('/api/journal');
    expect((init?.headers as Record<string, string>).Authorization).toBe('Bearer abc');
    expect(init?.body).toBe('{"text":"hi"}');
  });

  it('turns the error body into an ApiError with code and message', async () => {
    answer(404, { detail: { code: 'not_found', message: 'No such session' } });
    const error = await api('/api/sessions/x').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status: 404, code: 'not_found', message: 'No such session' });
  });

  it('explains a validation error in words', async () => {
    answer(422, { detail: [{ type: 'string_too_short', loc: ['body', 'password'], msg: 'String should have at least 8 characters', ctx: { min_length: 8 } }] });
    await expect(api('/api/auth/signup')).rejects.toThrow('Password needs at least 8 characters.');
  });

  it('says what is wrong with an email address, not what the validator printed', async () => {
    const reason = 'The part after the @-sign is not valid. It should have a period.';
    answer(422, { detail: [{ type: 'value_error', loc: ['body', 'email'], msg: `value is not a valid email address: ${reason}`, ctx: { reason } }] });
    const error = await api('/api/auth/signup').catch((caught: unknown) => caught);
    expect(error).toMatchObject({ status: 422, message: 'Check the email address: the part after the @-sign is not valid. It should have a period.' });
  });

  it('signs the user out when the token is rejected', async () => {
    setToken('expired');
    answer(401, { detail: { code: 'unauthorized', message: 'Token expired' } });
    await expect(api('/api/auth/me')).rejects.toThrow('Token expired');
    expect(getToken()).toBeNull();
  });
});
