/**
 * The generation form of one task: presets, prompt, sampling knobs, the video's shape (A2V, joint), the aligner's
 * knobs (joint: a λ and a CFG per model, the triangle's three weights, prompt tuning per model), advanced options
 * (pack, executors), the validation messages (engine checks included) and the Generate / Cancel buttons. Every
 * value lives in the store.
 */
import { type FormEvent, useId } from "react";
import { useDispatch, useStudio, useStudioCommands } from "../../context.js";
import { summaryOf } from "../../studio/commands.js";
import {
  type FieldName,
  isVideoTask,
  presetsFor,
  type SettingsFields,
  type StudioTaskId,
  validate,
} from "../../studio/settings.js";
import { CheckField, SelectField, TextField } from "./Fields.js";

/** What the condition-weight field weighs, per task (joint has the triangle's three weights instead). */
const COND_WEIGHT: Readonly<Record<Exclude<StudioTaskId, "joint">, string>> = {
  v2a: "Video weight",
  i2a: "Image weight",
  a2v: "Audio weight",
};

const PROMPT_HINT: Readonly<Record<StudioTaskId, string>> = {
  v2a: "Empty: an automatic prompt from ImageBind's best-matching sound labels",
  i2a: "Empty: an automatic prompt from ImageBind's best-matching sound labels",
  a2v: "Empty: an automatic prompt from the labels closest to the audio",
  joint: "Describe the scene and its sound (required)",
};

const EXECUTORS = [
  { value: "auto", label: "WebGPU" },
  { value: "wasm", label: "CPU" },
] as const;

const GRAD_EXECUTORS = [
  { value: "onnx", label: "ONNX Runtime (as forward)" },
  { value: "auto", label: "tfjs WebGPU" },
  { value: "wasm", label: "tfjs CPU" },
] as const;

export function SettingsForm({ task, disabled }: { task: StudioTaskId; disabled: boolean }) {
  const studio = useStudioCommands();
  const dispatch = useDispatch();
  const uid = useId();
  const fields = useStudio((s) => s.studio.tasks[task].fields);
  const input = useStudio((s) => s.studio.tasks[task].input);
  const running = useStudio((s) => s.studio.tasks[task].run?.status === "running");
  const packs = useStudio((s) => s.studio.packs);
  const { errors } = validate(task, fields, summaryOf(input));
  const set = (patch: Partial<SettingsFields>) => studio.setFields(task, patch);
  const text = (name: FieldName, label: string, placeholder?: string) => (
    <TextField
      name={name}
      label={label}
      placeholder={placeholder}
      value={fields[name] as string}
      error={errors[name]}
      disabled={disabled}
      onChange={(v) => set({ [name]: v })}
    />
  );
  const problems = Object.values(errors);
  const video = isVideoTask(task);
  const joint = task === "joint";
  const presets = presetsFor(task);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    dispatch("generate.run");
  };
  return (
    <form className="task-form" onSubmit={submit} aria-labelledby={`${uid}-h`} noValidate>
      <div className="panel-head">
        <h3 id={`${uid}-h`}>Settings</h3>
        <fieldset className="buttons bare presets">
          <legend className="sr-only">Presets</legend>
          {Object.entries(presets).map(([id, p]) => (
            <button
              key={id}
              type="button"
              disabled={disabled}
              title={p.description}
              onClick={() => dispatch(`preset.${id}`)}
            >
              {p.label}
            </button>
          ))}
        </fieldset>
      </div>
      <fieldset disabled={disabled}>
        <legend>Prompt and sampling</legend>
        <div className="field">
          <label htmlFor={`${uid}-prompt`}>
            <span>{joint ? "Prompt" : "Prompt (optional)"}</span>
          </label>
          <textarea
            id={`${uid}-prompt`}
            name="prompt"
            rows={2}
            value={fields.prompt}
            placeholder={PROMPT_HINT[task]}
            aria-invalid={errors.prompt ? true : undefined}
            aria-describedby={errors.prompt ? `${uid}-prompt-error` : undefined}
            onChange={(e) => set({ prompt: e.target.value })}
          />
          {errors.prompt && (
            <small id={`${uid}-prompt-error`} className="field-error">
              {errors.prompt}
            </small>
          )}
        </div>
        <div className="row">
          {text("seed", "Seed")}
          {text("steps", "Steps")}
          {text("cfg", joint ? "Audio CFG" : "CFG")}
          {joint && text("cfgVideo", "Video CFG")}
          {!video && text("durationS", "Length (s)", task === "v2a" ? "video's" : "10")}
        </div>
        <CheckField
          name="compare"
          label="Compare with vanilla (same seed, aligner off)"
          checked={fields.compare}
          onChange={(v) => set({ compare: v })}
        />
      </fieldset>
      {video && (
        <fieldset disabled={disabled}>
          <legend>Video</legend>
          <div className="row">
            {text("frames", "Frames")}
            {text("width", "Width (px)")}
            {text("height", "Height (px)")}
            {text("fps", "Frame rate (fps)")}
          </div>
        </fieldset>
      )}
      <fieldset disabled={disabled}>
        <legend>Latent aligner</legend>
        <div className="row">
          {text("lambda", joint ? "Audio λ" : "λ")}
          {joint && text("lambdaVideo", "Video λ")}
          {text("warmup", "Warm-up")}
          {text("iterations", "Inner steps")}
          <SelectField
            name="optimizer"
            label="Optimizer"
            value={fields.optimizer}
            options={[
              { value: "adam", label: "Adam" },
              { value: "sgd", label: "SGD" },
            ]}
            onChange={(v) => set({ optimizer: v })}
          />
          {task === "joint" ? (
            <>
              {text("wTV", "Text–video weight")}
              {text("wAV", "Audio–video weight")}
              {text("wTA", "Text–audio weight")}
            </>
          ) : (
            <>
              {text("wText", "Text weight")}
              {text("wCond", COND_WEIGHT[task])}
            </>
          )}
        </div>
        <div className="inline">
          <CheckField
            name="promptTuning"
            label={joint ? "Tune the audio prompt (AudioLDM)" : "Guided prompt tuning"}
            checked={fields.promptTuning}
            onChange={(v) => set({ promptTuning: v })}
          />
          {joint && (
            <CheckField
              name="promptTuningVideo"
              label="Tune the video prompt (AnimateDiff)"
              checked={fields.promptTuningVideo}
              onChange={(v) => set({ promptTuningVideo: v })}
            />
          )}
          {(fields.promptTuning || (joint && fields.promptTuningVideo)) && text("lambda2", "λ2")}
        </div>
      </fieldset>
      <details
        className="advanced"
        onToggle={(e) => (e.currentTarget.open ? void studio.refreshPacks() : undefined)}
      >
        <summary>Advanced</summary>
        <fieldset disabled={disabled}>
          <legend className="sr-only">Advanced</legend>
          <label className="field">
            <span>Negative prompt</span>
            <input
              type="text"
              name="negativePrompt"
              value={fields.negativePrompt}
              onChange={(e) => set({ negativePrompt: e.target.value })}
            />
          </label>
          <div className="row">
            {text("previewEvery", "Preview every")}
            <SelectField
              name="pack"
              label="Pack"
              value={fields.pack}
              options={[
                { value: "bundled", label: "Bundled" },
                ...packs.map((p) => ({ value: `installed:${p.id}`, label: `${p.name} (installed)` })),
              ]}
              onChange={(v) => set({ pack: v })}
            />
            <SelectField
              name="executor"
              label="Forward on"
              value={fields.executor}
              options={EXECUTORS}
              onChange={(v) => set({ executor: v })}
            />
            <SelectField
              name="gradExecutor"
              label="Gradient on"
              value={fields.gradExecutor}
              options={GRAD_EXECUTORS}
              onChange={(v) => set({ gradExecutor: v })}
            />
          </div>
        </fieldset>
      </details>
      {!disabled && problems.length > 0 && (
        <ul className="problems" aria-live="polite" aria-label="To generate, change">
          {problems.map((p) => (
            <li key={p}>{p}</li>
          ))}
        </ul>
      )}
      <div className="buttons">
        <button
          type="submit"
          className="primary"
          disabled={disabled || running || problems.length > 0}
          aria-keyshortcuts="Control+Enter"
        >
          Generate
        </button>
        {running && (
          <button type="button" onClick={() => dispatch("generate.cancel")}>
            Cancel
          </button>
        )}
      </div>
    </form>
  );
}
