export interface VariantPickerProps {
  known: readonly string[];
  /** Selected variants; empty means all. */
  selected: readonly string[];
  onChange: (v: string[]) => void;
}

/** One checkbox per variant; two or more checked overlay them on every chart (solid, dashed, dotted…). */
export function VariantPicker({ known, selected, onChange }: VariantPickerProps) {
  const all = selected.length === 0;
  const isOn = (v: string) => all || selected.includes(v);
  const toggle = (v: string) => {
    const current = all ? [...known] : [...selected];
    const next = current.includes(v) ? current.filter((x) => x !== v) : [...current, v];
    // everything checked, or nothing left, both mean "all"
    onChange(next.length === known.length || next.length === 0 ? [] : known.filter((k) => next.includes(k)));
  };
  if (known.length === 0) return <span className="muted">no variants yet</span>;
  return (
    <fieldset className="variant-picker">
      <legend>Variants</legend>
      {known.map((v) => (
        <label key={v} className="check">
          <input type="checkbox" checked={isOn(v)} onChange={() => toggle(v)} />
          {v}
        </label>
      ))}
    </fieldset>
  );
}
