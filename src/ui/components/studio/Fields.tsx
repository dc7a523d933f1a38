/** Labelled form controls that show their validation message and tie it to the control for screen readers. */
import { type ReactNode, useId } from "react";

interface Common {
  label: string;
  error?: string;
  hint?: string;
  disabled?: boolean;
}

function Message({ id, error, hint }: { id: string; error?: string; hint?: string }) {
  if (error)
    return (
      <small id={id} className="field-error">
        {error}
      </small>
    );
  return hint ? (
    <small id={id} className="muted">
      {hint}
    </small>
  ) : null;
}

export function TextField({
  label,
  value,
  onChange,
  error,
  hint,
  disabled,
  inputMode = "decimal",
  name,
  placeholder,
}: Common & {
  placeholder?: string;
  value: string;
  onChange: (v: string) => void;
  inputMode?: "decimal" | "numeric" | "text";
  name: string;
}) {
  const id = useId();
  // the message sits outside the <label>: it describes the control (aria-describedby) and is not its name
  return (
    <div className="field">
      <label htmlFor={`${id}-in`}>
        <span>{label}</span>
      </label>
      <input
        id={`${id}-in`}
        type="text"
        name={name}
        inputMode={inputMode}
        placeholder={placeholder}
        value={value}
        disabled={disabled}
        aria-invalid={error ? true : undefined}
        aria-describedby={error || hint ? id : undefined}
        onChange={(e) => onChange(e.target.value)}
      />
      <Message id={id} error={error} hint={hint} />
    </div>
  );
}

export function SelectField<T extends string>({
  label,
  value,
  options,
  onChange,
  error,
  hint,
  disabled,
  name,
}: Common & {
  value: T;
  options: readonly { value: T; label: string }[];
  onChange: (v: T) => void;
  name: string;
}) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={`${id}-in`}>
        <span>{label}</span>
      </label>
      <select
        id={`${id}-in`}
        name={name}
        value={value}
        disabled={disabled}
        aria-describedby={error || hint ? id : undefined}
        onChange={(e) => onChange(e.target.value as T)}
      >
        {options.map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
      </select>
      <Message id={id} error={error} hint={hint} />
    </div>
  );
}

export function CheckField({
  label,
  checked,
  onChange,
  disabled,
  children,
  name,
}: {
  label: string;
  checked: boolean;
  onChange: (v: boolean) => void;
  disabled?: boolean;
  children?: ReactNode;
  name: string;
}) {
  return (
    <label className="check">
      <input
        type="checkbox"
        name={name}
        checked={checked}
        disabled={disabled}
        onChange={(e) => onChange(e.target.checked)}
      />
      <span>{label}</span>
      {children}
    </label>
  );
}
