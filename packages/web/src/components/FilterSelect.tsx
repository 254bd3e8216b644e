import { useId } from 'react';

export interface FilterSelectProps {
  label: string;
  value: string | null;
  options: readonly string[];
  onChange: (v: string | null) => void;
}

/** A filter by client or model; the options are the names seen in the range's usage. */
export function FilterSelect({ label, value, options, onChange }: FilterSelectProps) {
  const id = useId();
  const opts = value !== null && !options.includes(value) ? [value, ...options] : options;
  return (
    <span className="filter">
      <label htmlFor={id}>{label}</label>
      <select
        id={id}
        value={value ?? ''}
        onChange={(e) => onChange(e.target.value === '' ? null : e.target.value)}
      >
        <option value="">all</option>
        {opts
          .filter((o) => o !== '')
          .map((o) => (
            <option key={o} value={o}>
              {o}
            </option>
          ))}
      </select>
    </span>
  );
}
