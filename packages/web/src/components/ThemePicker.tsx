import { useId } from 'react';
import { type ThemeMode, useTheme } from '../hooks/useTheme.tsx';

/** Light, dark or system; charts follow too. */
export function ThemePicker() {
  const { mode, setMode } = useTheme();
  const id = useId();
  return (
    <span className="filter">
      <label htmlFor={id}>Theme</label>
      <select id={id} value={mode} onChange={(e) => setMode(e.target.value as ThemeMode)}>
        <option value="system">system</option>
        <option value="light">light</option>
        <option value="dark">dark</option>
      </select>
    </span>
  );
}
