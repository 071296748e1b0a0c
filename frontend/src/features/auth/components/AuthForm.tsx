import { useState, type ChangeEvent, type FormEvent } from 'react';
import { Link } from 'react-router-dom';
import { Button } from '@/components/Button';
import { ErrorAlert } from '@/components/ErrorAlert';
import { Field } from '@/components/Field';
import { ThemeToggle } from '@/components/ThemeToggle';
import { useLogin, useSignup } from '../hooks/useAuth';

export function AuthForm({ mode }: { mode: 'login' | 'signup' }) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [displayName, setDisplayName] = useState('');
  const loginMutation = useLogin();
  const signupMutation = useSignup();
  const mutation = mode === 'login' ? loginMutation : signupMutation;
  // An answer about what was sent ("already exists", "too easy to guess") goes once the person edits it.
  const edit = (set: (value: string) => void) => (event: ChangeEvent<HTMLInputElement>) => {
    set(event.target.value);
    if (mutation.isError) mutation.reset();
  };

  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (mode === 'login') loginMutation.mutate({ email, password });
    else signupMutation.mutate({ email, password, ...(displayName ? { display_name: displayName } : {}) });
  };

  const title = mode === 'login' ? 'Log in' : 'Create your account';
  return (
    <main className="mx-auto w-full max-w-sm px-4 pt-4">
      <div className="mb-8 flex justify-end">
        <ThemeToggle />
      </div>
      <h1 className="mb-1 text-2xl font-semibold">{title}</h1>
      <p className="mb-6 text-sm text-slate-600">Attune listens for how you feel, in chat and in your journal.</p>
      <form onSubmit={submit} className="flex flex-col gap-4 rounded-lg border border-slate-200 bg-white p-6 shadow-sm">
        <Field label="Email" type="email" autoComplete="email" required value={email} onChange={edit(setEmail)} />
        {mode === 'signup' && (
          <Field label="Display name (optional)" autoComplete="nickname" maxLength={100} value={displayName} onChange={edit(setDisplayName)} />
        )}
        <Field
          label="Password"
          type="password"
          autoComplete={mode === 'login' ? 'current-password' : 'new-password'}
          required
          minLength={8}
          maxLength={256}
          hint={mode === 'signup' ? 'At least 8 characters and hard to guess: a few unrelated words work well.' : undefined}
          value={password}
          onChange={edit(setPassword)}
        />
        <ErrorAlert error={mutation.error} />
        <Button type="submit" disabled={mutation.isPending}>
          {mutation.isPending ? 'Please wait…' : mode === 'login' ? 'Log in' : 'Sign up'}
        </Button>
      </form>
      <p className="mt-4 text-center text-sm text-slate-600">
        {mode === 'login' ? (
          <>
            New here? <Link className="text-indigo-700 underline" to="/signup">Create an account</Link>
          </>
        ) : (
          <>
            Already have an account? <Link className="text-indigo-700 underline" to="/login">Log in</Link>
          </>
        )}
      </p>
    </main>
  );
}
