import { Navigate, Outlet, useLocation } from 'react-router-dom';
import { ErrorAlert } from '@/components/ErrorAlert';
import { Spinner } from '@/components/Spinner';
import { useUser } from '@/features/auth';

function FullPageSpinner() {
  return (
    <div className="flex h-full items-center justify-center">
      <Spinner />
    </div>
  );
}

export function RequireSignedIn() {
  const { user, isLoading, error } = useUser();
  const location = useLocation();
  if (isLoading) return <FullPageSpinner />;
  if (!user) {
    if (error) return <div className="p-6"><ErrorAlert error={error} /></div>;
    return <Navigate to="/login" replace state={{ from: location.pathname }} />;
  }
  return <Outlet />;
}

export function RequireSignedOut() {
  const { user, isLoading } = useUser();
  const location = useLocation();
  if (isLoading) return <FullPageSpinner />;
  if (user) return <Navigate to={(location.state as { from?: string } | null)?.from ?? '/chat'} replace />;
  return <Outlet />;
}

/** Admin pages; anyone else gets a 403 page (the API refuses them too). */
export function RequireAdmin() {
  const { user } = useUser();
  if (user?.role !== 'admin') {
    return (
      <main className="mx-auto max-w-xl p-6">
        <h1 className="text-xl font-semibold">403 — Administrators only</h1>
        <p className="mt-2 text-slate-700">Your account does not have access to the admin console.</p>
      </main>
    );
  }
  return <Outlet />;
}
