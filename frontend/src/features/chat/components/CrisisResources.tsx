import type { CrisisResource } from '@/lib/protocol';

const NAME_KEYS = ['name', 'title', 'label'];

function isWebLink(value: string): boolean {
  return /^https?:\/\//i.test(value);
}

/** The help lines a crisis reply carries; their fields vary by region, so show what is there. */
export function CrisisResources({ resources }: { resources: CrisisResource[] }) {
  if (resources.length === 0) return null;
  return (
    <ul aria-label="Crisis resources" className="mt-2 space-y-1 text-sm">
      {resources.map((resource, position) => {
        const nameKey = NAME_KEYS.find((key) => resource[key]);
        const details = Object.entries(resource).filter(([key]) => key !== nameKey);
        return (
          <li key={position} className="rounded border border-rose-200 bg-white px-2 py-1">
            {nameKey && <strong className="mr-2">{resource[nameKey]}</strong>}
            {details.map(([key, value]) => (
              <span key={key} className="mr-3">
                <span className="text-slate-500">{key}: </span>
                {isWebLink(value) ? (
                  <a className="text-indigo-700 underline" href={value} target="_blank" rel="noopener noreferrer">
                    {value}
                  </a>
                ) : key === 'phone' ? (
                  <a className="text-indigo-700 underline" href={`tel:${value.replace(/[^\d+]/g, '')}`}>
                    {value}
                  </a>
                ) : (
                  value
                )}
              </span>
            ))}
          </li>
        );
      })}
    </ul>
  );
}
