/** What Attune is and is not, in one sentence, with where to turn in a crisis. */
export function Welcome() {
  return (
    <div className="mx-auto max-w-prose px-4 py-8 text-center">
      <h2 className="text-lg font-semibold text-slate-900">Welcome to Attune</h2>
      <p className="mt-2 text-sm text-slate-600" data-testid="welcome-note">
        Attune is an AI companion that listens for how you feel and talks things through with you, not a therapist or an emergency service: if
        you are in danger or thinking about harming yourself, call your local emergency number or find a crisis line at{' '}
        <a className="text-indigo-700 underline" href="https://findahelpline.com" target="_blank" rel="noopener noreferrer">
          findahelpline.com
        </a>
        .
      </p>
      <p className="mt-4 text-sm text-slate-500">Write below whatever is on your mind to begin.</p>
    </div>
  );
}
