/**
 * Model packs: what is installed in this browser (OPFS), storage use, install the bundled pack, convert a picked
 * upstream folder, verify / load / delete a pack, and the memory estimate of a task before a run.
 * Every action is a pack command (../packs.ts) that runs a job in the engine worker.
 */
import { type FormEvent, useEffect, useMemo, useReducer, useRef, useState } from "react";
import { TASKS, type Task } from "../../engine/packs/planner-phases.js";
import { MODEL_SPECS, type ModelSpecId } from "../../engine/packs/specs.js";
import { useCommands } from "../context.js";
import { initialPacksState, mb, packCommands, packsReducer, pickedFiles } from "../packs.js";

const specIds = Object.keys(MODEL_SPECS) as ModelSpecId[];

export function PacksPanel() {
  const commands = useCommands();
  const [state, dispatch] = useReducer(packsReducer, initialPacksState);
  const packs = useMemo(() => packCommands(commands, dispatch), [commands]);
  useEffect(() => {
    void packs.refresh();
  }, [packs]);
  const list = state.list;
  const busy = state.busy !== null;
  return (
    <section aria-labelledby="packs-title" data-busy={busy}>
      <h3 id="packs-title">Installed packs</h3>
      {list?.storage && (
        <p className="muted">
          Storage: {mb(list.storage.usage)} used of {mb(list.storage.quota)} ·{" "}
          {list.persisted ? "persistent" : "may be evicted by the browser under storage pressure"}
        </p>
      )}
      {state.error && (
        <p className="job-error" role="alert">
          {state.error}
        </p>
      )}
      {state.busy && <p aria-live="polite">Working: {state.busy}…</p>}
      {list && list.packs.length === 0 && <p>No pack is installed in this browser yet.</p>}
      <ul className="jobs">
        {list?.packs.map((p) => (
          <li key={p.id} className="job" data-pack={p.id} data-complete={p.complete}>
            <div className="job-head">
              <strong>{p.name}</strong>
              <span className="muted">
                {p.id} {p.version} · {mb(p.bytes)}{" "}
                {p.complete ? "" : "· incomplete: install or convert it again"}
              </span>
            </div>
            <ul className="chips">
              {p.models.flatMap((m) =>
                m.components.map((c) => (
                  <li key={`${m.id}/${c.id}`} title={`${m.name}: ${c.kind}`}>
                    {m.id}/{c.id} {c.dtype}
                    {c.quantization === "q4" ? "+q4" : ""}
                  </li>
                )),
              )}
            </ul>
            <div className="buttons">
              <button type="button" disabled={busy} onClick={() => void packs.load(p.id)}>
                Load
              </button>
              <button type="button" disabled={busy} onClick={() => void packs.verify(p.id)}>
                Verify
              </button>
              <button type="button" disabled={busy} onClick={() => void packs.remove(p.id)}>
                Delete
              </button>
            </div>
          </li>
        ))}
      </ul>
      {state.verify && (
        <p data-verify={state.verify.pack} role="status">
          {state.verify.pack}:{" "}
          {state.verify.bad.length
            ? `${state.verify.bad.length} bad file(s) deleted: ${state.verify.bad.map((b) => `${b.path} (${b.reason})`).join(", ")}`
            : `all ${state.verify.ok.length} files match their sha256`}
        </p>
      )}
      <div className="buttons">
        <button
          type="button"
          disabled={busy}
          data-action="packs.installBundled"
          onClick={() => void packs.installBundled(document.baseURI)}
        >
          Install the bundled pack
        </button>
      </div>
      <ConvertForm
        busy={busy}
        onConvert={(p) => void packs.convert(p)}
        onConvertRemote={(p) => void packs.convertRemote(p)}
      />
      <EstimateForm
        busy={busy}
        packIds={list?.packs.map((p) => p.id) ?? []}
        onEstimate={(id, task, size) => void packs.estimate(id, { task, ...size })}
      />
      {state.estimate && <Estimate result={state.estimate} />}
    </section>
  );
}

type PackCommands = ReturnType<typeof packCommands>;

function ConvertForm({
  busy,
  onConvert,
  onConvertRemote,
}: {
  busy: boolean;
  onConvert: (p: Parameters<PackCommands["convert"]>[0]) => void;
  onConvertRemote: (p: Parameters<PackCommands["convertRemote"]>[0]) => void;
}) {
  const input = useRef<HTMLInputElement>(null);
  const [source, setSource] = useState<"folder" | "remote">("folder");
  const [model, setModel] = useState<ModelSpecId>("audioldm-m-full");
  const [quant, setQuant] = useState<"fp32" | "fp16" | "q4">("fp16");
  const [id, setId] = useState("my-pack");
  const [revision, setRevision] = useState("main");
  const [mirror, setMirror] = useState("");
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const name = `${MODEL_SPECS[model].name} (${quant})`;
    if (source === "remote") {
      onConvertRemote({ model, quant, id, name, revision, fileUrl: mirror.trim() || undefined });
      return;
    }
    const files = pickedFiles(input.current?.files ?? []);
    if (files.length) onConvert({ model, quant, id, name, files });
  };
  return (
    <form onSubmit={submit} aria-labelledby="convert-title">
      <h3 id="convert-title">Convert upstream weights</h3>
      <p className="muted">
        Pick a folder as published upstream (a diffusers pipeline with model_index.json, an adapter folder, or
        a folder with imagebind_huge.pth), or read the model's repository directly (HTTP Range reads, tensor
        by tensor; only the files the converter needs). Every key and shape is checked before anything is
        written.
      </p>
      <div className="row">
        <label className="field">
          Source
          <select value={source} onChange={(e) => setSource(e.target.value as "folder" | "remote")}>
            <option value="folder">A folder on this computer</option>
            <option value="remote">Download from its repository</option>
          </select>
        </label>
        {source === "folder" ? (
          <label className="field">
            Folder
            <input
              ref={input}
              type="file"
              multiple
              {...{ webkitdirectory: "" }}
              data-input="convert-folder"
            />
          </label>
        ) : (
          <>
            <label className="field">
              Revision
              <input value={revision} onChange={(e) => setRevision(e.target.value)} required />
            </label>
            <label className="field">
              Mirror (URL template)
              <input
                value={mirror}
                placeholder={MODEL_SPECS[model].fileUrl}
                onChange={(e) => setMirror(e.target.value)}
                type="url"
              />
            </label>
          </>
        )}
        <label className="field">
          Model
          <select value={model} onChange={(e) => setModel(e.target.value as ModelSpecId)}>
            {specIds.map((s) => (
              <option key={s} value={s}>
                {MODEL_SPECS[s].name}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          Weights
          <select value={quant} onChange={(e) => setQuant(e.target.value as "fp32" | "fp16" | "q4")}>
            <option value="fp32">fp32</option>
            <option value="fp16">fp16</option>
            <option value="q4">q4 (UNet and text encoders)</option>
          </select>
        </label>
        <label className="field">
          Pack id
          <input
            value={id}
            onChange={(e) => setId(e.target.value)}
            pattern="[a-z0-9][a-z0-9._\-]{0,63}"
            required
          />
        </label>
        <button type="submit" disabled={busy}>
          Convert
        </button>
      </div>
    </form>
  );
}

function EstimateForm({
  busy,
  packIds,
  onEstimate,
}: {
  busy: boolean;
  packIds: readonly string[];
  onEstimate: (id: string, task: Task, size: { seconds: number; frames: number }) => void;
}) {
  const [task, setTask] = useState<Task>("v2a");
  const [seconds, setSeconds] = useState(5);
  const [frames, setFrames] = useState(16);
  const [id, setId] = useState("");
  const pack = id || packIds[0] || "";
  return (
    <form
      aria-labelledby="estimate-title"
      onSubmit={(e) => {
        e.preventDefault();
        if (pack) onEstimate(pack, task, { seconds, frames });
      }}
    >
      <h3 id="estimate-title">Memory before a run</h3>
      <div className="row">
        <label className="field">
          Pack
          <select value={pack} onChange={(e) => setId(e.target.value)}>
            {packIds.map((p) => (
              <option key={p}>{p}</option>
            ))}
          </select>
        </label>
        <label className="field">
          Task
          <select value={task} onChange={(e) => setTask(e.target.value as Task)}>
            {TASKS.map((t) => (
              <option key={t}>{t}</option>
            ))}
          </select>
        </label>
        <label className="field">
          Seconds
          <input
            type="number"
            min={1}
            max={60}
            value={seconds}
            onChange={(e) => setSeconds(Number(e.target.value))}
          />
        </label>
        <label className="field">
          Frames
          <input
            type="number"
            min={8}
            max={32}
            value={frames}
            onChange={(e) => setFrames(Number(e.target.value))}
          />
        </label>
        <button type="submit" disabled={busy || !pack}>
          Estimate
        </button>
      </div>
    </form>
  );
}

function Estimate({ result }: { result: NonNullable<ReturnType<typeof packsReducer>["estimate"]> }) {
  const e = result.estimate;
  return (
    <div data-estimate={result.ok ? "ok" : "refused"} role="status">
      <p>
        {result.ok ? `Fits: peak ${mb(e.peakBytes)} in the ${e.peakPhase} phase.` : result.message}
        {result.fallbacks.length > 0 && ` Adjusted: ${result.fallbacks.join("; ")}.`}
      </p>
      <div className="table-scroll">
        <table>
          <thead>
            <tr>
              <th scope="col">Phase</th>
              <th scope="col">Weights</th>
              <th scope="col">Activations</th>
              <th scope="col">Total</th>
            </tr>
          </thead>
          <tbody>
            {e.phases.map((p) => (
              <tr key={p.name}>
                <th scope="row">{p.name}</th>
                <td>{mb(p.weightsBytes)}</td>
                <td title={p.activationSource}>{mb(p.activationBytes)}</td>
                <td>{mb(p.totalBytes)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}
