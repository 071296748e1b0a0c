import type { CrisisResource } from '@/lib/protocol';

/** Keys shown as text; contact keys become buttons; source and checked_on are provenance. */
const CONTACT_KEYS = new Set(['phone', 'sms', 'chat', 'url']);
const HIDDEN_KEYS = new Set(['name', 'region', 'source', 'checked_on', 'description', 'hours']);

function dialable(value: string): string {
  return value.replace(/[^\d+*#]/g, '');
}

function isWebLink(value: string): boolean {
  return /^https?:\/\//i.test(value);
}

const LABELS = {
  en: { call: 'Call', text: 'Text', chat: 'Chat online', site: 'Website', checked: 'number checked', lines: 'Crisis lines' },
  es: { call: 'Llamar al', text: 'Escribir al', chat: 'Chat en línea', site: 'Sitio web', checked: 'número verificado', lines: 'Líneas de ayuda' },
} as const;

/** The help lines a safety reply carries, as cards with tap-to-call and tap-to-text buttons. */
export function CrisisResources({ resources, language }: { resources: CrisisResource[]; language?: string | null }) {
  if (resources.length === 0) return null;
  const words = language === 'es' ? LABELS.es : LABELS.en;
  return (
    <ul aria-label={words.lines} className="mt-2 grid gap-2 sm:grid-cols-2">
      {resources.map((resource, position) => {
        const extra = Object.entries(resource).filter(([key]) => !CONTACT_KEYS.has(key) && !HIDDEN_KEYS.has(key));
        return (
          <li
            key={position}
            className="rounded-lg border border-rose-200 bg-white px-3 py-2 text-slate-900"
          >
            <p className="font-semibold">{resource.name ?? resource.title ?? resource.label}</p>
            {resource.description && <p className="text-xs text-slate-600">{resource.description}</p>}
            {resource.hours && <p className="text-xs text-slate-500">{resource.hours}</p>}
            <div className="mt-1 flex flex-wrap gap-2">
              {resource.phone && (
                <a
                  className="rounded-full bg-rose-700 px-3 py-1 text-xs font-semibold text-white hover:bg-rose-800"
                  href={`tel:${dialable(resource.phone)}`}
                >
                  {words.call} {resource.phone}
                </a>
              )}
              {resource.sms && (
                <a
                  className="rounded-full border border-rose-700 px-3 py-1 text-xs font-semibold text-rose-800"
                  href={`sms:${dialable(resource.sms)}`}
                >
                  {words.text} {resource.sms}
                </a>
              )}
              {resource.chat && isWebLink(resource.chat) && (
                <a className="px-1 py-1 text-xs text-indigo-700 underline" href={resource.chat} target="_blank" rel="noopener noreferrer">
                  {words.chat}
                </a>
              )}
              {resource.url && isWebLink(resource.url) && (
                <a className="px-1 py-1 text-xs text-indigo-700 underline" href={resource.url} target="_blank" rel="noopener noreferrer">
                  {words.site}
                </a>
              )}
            </div>
            {extra.map(([key, value]) => (
              <p key={key} className="text-xs text-slate-500">
                {value}
              </p>
            ))}
            {resource.checked_on && (
              <p className="mt-1 text-[10px] text-slate-400" title={resource.source}>
                {words.checked} {resource.checked_on}
              </p>
            )}
          </li>
        );
      })}
    </ul>
  );
}
