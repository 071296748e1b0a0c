import { z } from 'zod';

// Read and validated once; the rest of the app imports `env`, never `import.meta.env`.
const EnvSchema = z.object({
  // Empty means "same origin": the backend (or nginx) serves the app and the API together.
  VITE_API_URL: z.union([z.literal(''), z.url()]).default(''),
});

function loadEnv() {
  const parsed = EnvSchema.safeParse(import.meta.env);
  if (!parsed.success) throw new Error(`Invalid environment: ${z.prettifyError(parsed.error)}`);
  const apiUrl = parsed.data.VITE_API_URL.replace(/\/$/, '');
  const origin = apiUrl || window.location.origin;
  return { apiUrl, wsUrl: origin.replace(/^http/, 'ws') };
}

export const env = loadEnv();
