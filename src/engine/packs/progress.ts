/**
 * Download progress as transformers.js reports it (STYLE.md 11): per file `initiate → download → progress* →
 * done`, across files `progress_total` (with a `files` map) and finally `ready`. Events are plain,
 * structured-clone-safe objects; `loaded` never decreases and `total` never changes for a file, and the total
 * ends at 100 %. Speed (bytes/s, over bytes actually transferred in this session) and ETA (s) come with every
 * progress event.
 */

export type PackProgressEvent =
  | { status: "initiate"; pack: string; file: string; total: number }
  | { status: "download"; pack: string; file: string; total: number; loaded: number; url: string }
  | {
      status: "progress";
      pack: string;
      file: string;
      loaded: number;
      total: number;
      /** 0–100 */
      progress: number;
      speed: number;
      eta: number | null;
    }
  | { status: "done"; pack: string; file: string; total: number; cached: boolean }
  | {
      status: "progress_total";
      pack: string;
      loaded: number;
      total: number;
      progress: number;
      speed: number;
      eta: number | null;
      files: Record<string, { loaded: number; total: number }>;
    }
  | { status: "ready"; pack: string; total: number };

export type PackProgressCallback = (e: PackProgressEvent) => void;

export interface TrackerOptions {
  /** Minimum ms between two progress events of one file (the last one of a file is always sent). Default 100. */
  throttleMs?: number;
  now?: () => number;
}

export class ProgressTracker {
  private readonly files = new Map<string, { loaded: number; total: number; lastEmit: number }>();
  private readonly total: number;
  private readonly now: () => number;
  private readonly throttleMs: number;
  /** Bytes transferred in this session (not resumed or cached ones) and when the first arrived. */
  private transferred = 0;
  private startedAt: number | null = null;
  private lastTotalEmit = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly pack: string,
    files: readonly { path: string; size: number }[],
    private readonly emit: PackProgressCallback = () => {},
    opts: TrackerOptions = {},
  ) {
    for (const f of files)
      this.files.set(f.path, { loaded: 0, total: f.size, lastEmit: Number.NEGATIVE_INFINITY });
    this.total = files.reduce((a, f) => a + f.size, 0);
    this.now = opts.now ?? (() => performance.now());
    this.throttleMs = opts.throttleMs ?? 100;
  }

  private get(file: string) {
    const f = this.files.get(file);
    if (!f) throw new RangeError(`progress for unknown file ${file}`);
    return f;
  }

  get loaded(): number {
    let n = 0;
    for (const f of this.files.values()) n += f.loaded;
    return n;
  }

  private speed(): number {
    if (this.startedAt === null) return 0;
    const dt = (this.now() - this.startedAt) / 1000;
    return dt > 0 ? this.transferred / dt : 0;
  }

  private eta(remaining: number): number | null {
    const s = this.speed();
    return s > 0 ? remaining / s : null;
  }

  initiate(file: string): void {
    this.emit({ status: "initiate", pack: this.pack, file, total: this.get(file).total });
  }

  /** A transfer starts (or resumes) at `from` bytes. */
  download(file: string, url: string, from: number): void {
    const f = this.get(file);
    if (from > f.loaded) f.loaded = Math.min(from, f.total);
    this.emit({ status: "download", pack: this.pack, file, total: f.total, loaded: f.loaded, url });
  }

  /** `loaded` bytes of `file` are now on disk; `fresh` of them arrived over the network just now. */
  progress(file: string, loaded: number, fresh: number): void {
    const f = this.get(file);
    if (fresh > 0) {
      this.startedAt ??= this.now();
      this.transferred += fresh;
    }
    if (loaded <= f.loaded) return; // never report going backwards (a restarted transfer catches up first)
    f.loaded = Math.min(loaded, f.total);
    const t = this.now();
    const last = f.loaded === f.total;
    if (!last && t - f.lastEmit < this.throttleMs) return;
    f.lastEmit = t;
    this.emit({
      status: "progress",
      pack: this.pack,
      file,
      loaded: f.loaded,
      total: f.total,
      progress: f.total ? (100 * f.loaded) / f.total : 100,
      speed: this.speed(),
      eta: this.eta(f.total - f.loaded),
    });
    this.emitTotal(last);
  }

  done(file: string, cached: boolean): void {
    const f = this.get(file);
    f.loaded = f.total;
    this.emit({ status: "done", pack: this.pack, file, total: f.total, cached });
    this.emitTotal(true);
  }

  private emitTotal(force: boolean): void {
    const t = this.now();
    if (!force && t - this.lastTotalEmit < this.throttleMs) return;
    this.lastTotalEmit = t;
    const loaded = this.loaded;
    const files: Record<string, { loaded: number; total: number }> = {};
    for (const [k, f] of this.files) files[k] = { loaded: f.loaded, total: f.total };
    this.emit({
      status: "progress_total",
      pack: this.pack,
      loaded,
      total: this.total,
      progress: this.total ? (100 * loaded) / this.total : 100,
      speed: this.speed(),
      eta: this.eta(this.total - loaded),
      files,
    });
  }

  ready(): void {
    this.emit({ status: "ready", pack: this.pack, total: this.total });
  }
}
