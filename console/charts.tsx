/**
 * Charts drawn on the server as SVG: a line per series over an x axis of labels. No script in the
 * browser, readable without JavaScript, and small (a few KB). Each chart is an image with a label.
 */
import type { FC } from 'hono/jsx';

export interface Series { name: string; points: (number | null)[] }

const COLORS = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2', '#ca8a04', '#db2777'];
const W = 640;
const H = 220;
const PAD = { left: 48, right: 16, top: 12, bottom: 36 };

export const LineChart: FC<{ label: string; xLabels: string[]; series: Series[]; threshold?: number; yMax?: number }> = ({ label, xLabels, series, threshold, yMax }) => {
  const values = series.flatMap((s) => s.points.filter((p): p is number => p !== null));
  if (!values.length || !xLabels.length) return <p>No data to chart yet.</p>;
  const hi = yMax ?? (Math.max(...values, threshold ?? -Infinity) * 1.1 || 1);
  const lo = Math.min(0, ...values);
  const x = (i: number) => PAD.left + (xLabels.length === 1 ? (W - PAD.left - PAD.right) / 2 : (i * (W - PAD.left - PAD.right)) / (xLabels.length - 1));
  const y = (v: number) => PAD.top + (1 - (v - lo) / (hi - lo || 1)) * (H - PAD.top - PAD.bottom);
  const ticks = [lo, (lo + hi) / 2, hi];
  const every = Math.max(1, Math.ceil(xLabels.length / 8));
  return (
    <figure class="chart">
      <svg role="img" aria-label={label} viewBox={`0 0 ${W} ${H}`} width="100%" preserveAspectRatio="xMidYMid meet">
        {ticks.map((t) => (
          <g>
            <line x1={PAD.left} x2={W - PAD.right} y1={y(t)} y2={y(t)} stroke="#e5e7eb" />
            <text x={PAD.left - 6} y={y(t) + 4} text-anchor="end" font-size="11" fill="#6b7280">{Number(t.toPrecision(2))}</text>
          </g>
        ))}
        {threshold !== undefined && <line x1={PAD.left} x2={W - PAD.right} y1={y(threshold)} y2={y(threshold)} stroke="#9ca3af" stroke-dasharray="4 4" />}
        {xLabels.map((l, i) => (i % every === 0 || i === xLabels.length - 1) && (
          <text x={x(i)} y={H - PAD.bottom + 16} text-anchor={i === xLabels.length - 1 && xLabels.length > 1 ? 'end' : i === 0 && xLabels.length > 1 ? 'start' : 'middle'} font-size="11" fill="#6b7280">{l}</text>
        ))}
        {series.map((s, k) => {
          const pts = s.points.map((p, i) => (p === null ? null : `${x(i).toFixed(1)},${y(p).toFixed(1)}`)).filter(Boolean);
          return (
            <g>
              {pts.length > 1 && <polyline points={pts.join(' ')} fill="none" stroke={COLORS[k % COLORS.length]} stroke-width="2" />}
              {s.points.map((p, i) => p !== null && <circle cx={x(i)} cy={y(p)} r="3" fill={COLORS[k % COLORS.length]}><title>{`${s.name} ${xLabels[i]}: ${p}`}</title></circle>)}
            </g>
          );
        })}
      </svg>
      <figcaption>
        {series.map((s, k) => <span class="legend"><span class="swatch" style={`background:${COLORS[k % COLORS.length]}`} />{s.name}</span>)}
        {threshold !== undefined && <span class="legend">- - - threshold</span>}
      </figcaption>
    </figure>
  );
};
