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
    answer(422, { detail: [{ loc: ['body', 'password'], msg: 'String should have at least 8 characters' }] });
    await expect(api('/api/auth/signup')).rejects.toThrow('password: String should have at least 8 characters');
  });

  it('signs the user out when the token is rejected', async () => {
    setToken('expired');
    answer(401, { detail: { code: 'unauthorized', message: 'Token expired' } });
    await expect(api('/api/auth/me')).rejects.toThrow('Token expired');
    expect(getToken()).toBeNull();
  });
});
