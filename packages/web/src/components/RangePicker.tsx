import { useId, useState } from 'react';
import { RANGES, type TimeRange } from '../lib/url-state.ts';

export interface RangePickerProps {
  range: TimeRange;
  onChange: (r: TimeRange) => void;
  now: number;
}

/** `datetime-local` wants local time without a zone. */
function toLocalInput(ms: number): string {
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60_000);
  return d.toISOString().slice(0, 16);
}

/** Preset ranges as a radio group of buttons, and a custom from–to form. */
export function RangePicker({ range, onChange, now }: RangePickerProps) {
  const id = useId();
  const [open, setOpen] = useState(range.kind === 'custom');
  const [from, setFrom] = useState(() =>
    toLocalInput(range.kind === 'custom' ? range.from : now - 3_600_000),
  );
  const [to, setTo] = useState(() => toLocalInput(range.kind === 'custom' ? range.to : now));
  const [error, setError] = useState<string | null>(null);
  const apply = () => {
    const f = new Date(from).getTime();
    const t = new Date(to).getTime();
    if (!Number.isFinite(f) || !Number.isFinite(t)) return setError('Enter both times.');
    if (t <= f) return setError('“To” must be after “from”.');
    if (now - f > 7 * 86_400_000) return setError('History goes back 7 days.');
    setError(null);
    onChange({ kind: 'custom', from: f, to: t });
  };
  return (
    <div className="range-picker">
      <fieldset className="segmented">
        <legend className="sr-only">Time range</legend>
        {RANGES.map((k) => (
          <button
            key={k}
            type="button"
            aria-pressed={range.kind === 'relative' && range.key === k}
            onClick={() => {
              setOpen(false);
              onChange({ kind: 'relative', key: k });
            }}
          >
            {k}
          </button>
        ))}
        <button
          type="button"
          aria-pressed={range.kind === 'custom'}
          aria-expanded={open}
          onClick={() => setOpen(!open)}
        >
          Custom
        </button>
      </fieldset>
      {open && (
        <form
          className="custom-range"
          onSubmit={(e) => {
            e.preventDefault();
            apply();
          }}
        >
          <label htmlFor={`${id}-from`}>From</label>
          <input
            id={`${id}-from`}
            type="datetime-local"
            value={from}
            onChange={(e) => setFrom(e.target.value)}
          />
          <label htmlFor={`${id}-to`}>To</label>
          <input id={`${id}-to`} type="datetime-local" value={to} onChange={(e) => setTo(e.target.value)} />
          <button type="submit">Apply</button>
          {error && (
            <span role="alert" className="error-text">
              {error}
            </span>
          )}
        </form>
      )}
    </div>
  );
}
