import { Bar, BarChart, CartesianGrid, Cell, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { MOOD_COLORS } from '@/components/EmotionBadge';
import { MOODS, type JournalStats } from '@/lib/protocol';

function shortDate(iso: string): string {
  return new Date(iso).toLocaleDateString(undefined, { month: 'short', day: 'numeric' });
}

export function MoodOverTime({ stats }: { stats: JournalStats }) {
  const rows = stats.buckets.map((bucket) => ({ start: shortDate(bucket.start), ...bucket.counts }));
  const present = MOODS.filter((mood) => stats.buckets.some((bucket) => (bucket.counts[mood] ?? 0) > 0));
  // One period has no line to draw: equal counts would sit on one dot, so its moods stand side by side as bars.
  const Chart = rows.length > 1 ? LineChart : BarChart;
  return (
    <figure>
      <figcaption className="mb-2 text-sm font-medium text-slate-700">Mood over time (entries per period)</figcaption>
      <div className="h-56 w-full" aria-hidden="true" data-testid="mood-over-time" data-kind={rows.length > 1 ? 'lines' : 'bars'}>
        <ResponsiveContainer width="100%" height="100%">
          <Chart data={rows} margin={{ top: 5, right: 10, bottom: 5, left: -20 }}>
            <CartesianGrid strokeDasharray="3 3" />
            <XAxis dataKey="start" fontSize={11} />
            <YAxis allowDecimals={false} fontSize={11} />
            <Tooltip />
            <Legend wrapperStyle={{ fontSize: 11 }} />
            {present.map((mood) =>
              rows.length > 1 ? (
                <Line key={mood} type="monotone" dataKey={mood} stroke={MOOD_COLORS[mood]} strokeWidth={2} dot={{ r: 3 }} connectNulls />
              ) : (
                <Bar key={mood} dataKey={mood} fill={MOOD_COLORS[mood]} />
              ),
            )}
          </Chart>
        </ResponsiveContainer>
      </div>
    </figure>
  );
}

export function MoodDistribution({ stats }: { stats: JournalStats }) {
  const rows = MOODS.map((mood) => ({ mood, entries: stats.totals[mood] ?? 0 }));
  const total = rows.reduce((sum, row) => sum + row.entries, 0);
  return (
    <figure>
      <figcaption className="mb-2 text-sm font-medium text-slate-700">Mood distribution ({total} tagged entries)</figcaption>
      <div className="h-56 w-full" aria-hidden="true">
        <ResponsiveContainer width="100%" height="100%">
          <BarChart data={rows} margin={{ top: 5, right: 10, bottom: 5, left: -20 }}>
            <CartesianGrid strokeDasharray="3 3" />
            <XAxis dataKey="mood" fontSize={11} />
            <YAxis allowDecimals={false} fontSize={11} />
            <Tooltip />
            <Bar dataKey="entries">
              {rows.map((row) => (
                <Cell key={row.mood} fill={MOOD_COLORS[row.mood]} />
              ))}
            </Bar>
          </BarChart>
        </ResponsiveContainer>
      </div>
      <table className="sr-only">
        <caption>Entries per mood</caption>
        <tbody>
          {rows.map((row) => (
            <tr key={row.mood}>
              <th scope="row">{row.mood}</th>
              <td>{row.entries}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </figure>
  );
}
