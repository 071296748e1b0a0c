import { AuditCard } from './AuditCard';
import { CacheCard } from './CacheCard';
import { ModelsCard } from './ModelsCard';
import { RetagCard } from './RetagCard';
import { WorkersCard } from './WorkersCard';

export function AdminPage() {
  return (
    <main className="mx-auto flex w-full max-w-6xl flex-col gap-4 p-3 sm:p-4">
      <h1 className="text-xl font-semibold">Administration</h1>
      <ModelsCard />
      <WorkersCard />
      <div className="grid gap-4 md:grid-cols-2">
        <CacheCard />
        <RetagCard />
      </div>
      <AuditCard />
    </main>
  );
}
