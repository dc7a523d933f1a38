/**
 * The gallery in IndexedDB: one object store of result metadata ("entries") and one of media blobs ("blobs",
 * keyed [entry, name]: the input file and one WAV per run). An entry and its blobs are written in ONE readwrite
 * transaction over both stores, and IndexedDB commits a transaction all or nothing: a reload or crash during a
 * save leaves either the old state or the complete new entry, never an entry without its media.
 */
import type { ResultMeta } from "./state.js";

const DB_VERSION = 1;
const ENTRIES = "entries";
const BLOBS = "blobs";

interface BlobRow {
  entry: string;
  name: string;
  blob: Blob;
}

export interface GalleryDb {
  /** Newest first. */
  list(): Promise<ResultMeta[]>;
  /** Writes the entry and all its blobs atomically (replacing an entry with the same id and its blobs). */
  save(meta: ResultMeta, blobs: Readonly<Record<string, Blob>>): Promise<void>;
  /** Replaces the metadata of an existing entry (e.g. a metric computed later); false if it is gone. */
  updateMeta(meta: ResultMeta): Promise<boolean>;
  blobs(id: string): Promise<Record<string, Blob>>;
  remove(id: string): Promise<void>;
}

const done = (tx: IDBTransaction) =>
  new Promise<void>((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onabort = () =>
      reject(tx.error ?? new DOMException("The gallery transaction was aborted.", "AbortError"));
    tx.onerror = () => reject(tx.error);
  });

const request = <T>(r: IDBRequest<T>) =>
  new Promise<T>((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });

export function openGalleryDb(name = "studio-gallery", factory: IDBFactory = indexedDB): GalleryDb {
  let db: Promise<IDBDatabase> | null = null;
  const open = () => {
    db ??= new Promise<IDBDatabase>((resolve, reject) => {
      const r = factory.open(name, DB_VERSION);
      r.onupgradeneeded = () => {
        const d = r.result;
        if (!d.objectStoreNames.contains(ENTRIES)) d.createObjectStore(ENTRIES, { keyPath: "id" });
        if (!d.objectStoreNames.contains(BLOBS)) {
          const blobs = d.createObjectStore(BLOBS, { keyPath: ["entry", "name"] });
          blobs.createIndex("entry", "entry");
        }
      };
      r.onsuccess = () => resolve(r.result);
      r.onerror = () => reject(r.error);
      r.onblocked = () =>
        reject(new DOMException("The gallery database is open in an older tab.", "InvalidStateError"));
    });
    db.catch(() => {
      db = null;
    });
    return db;
  };
  const range = (id: string) => IDBKeyRange.bound([id, ""], [id, "\uffff"]);

  return {
    async list() {
      const d = await open();
      const rows = await request(d.transaction(ENTRIES, "readonly").objectStore(ENTRIES).getAll());
      return (rows as ResultMeta[]).sort((a, b) => b.createdAt - a.createdAt);
    },
    async save(meta, blobs) {
      const d = await open();
      const tx = d.transaction([ENTRIES, BLOBS], "readwrite");
      const finished = done(tx);
      const b = tx.objectStore(BLOBS);
      b.delete(range(meta.id));
      for (const [n, blob] of Object.entries(blobs))
        b.put({ entry: meta.id, name: n, blob } satisfies BlobRow);
      // the metadata last: a reader that sees it (after commit) sees every blob too
      tx.objectStore(ENTRIES).put(meta);
      await finished;
    },
    async updateMeta(meta) {
      const d = await open();
      const tx = d.transaction(ENTRIES, "readwrite");
      const finished = done(tx);
      const store = tx.objectStore(ENTRIES);
      const exists = (await request(store.getKey(meta.id))) !== undefined;
      if (exists) store.put(meta);
      await finished;
      return exists;
    },
    async blobs(id) {
      const d = await open();
      const rows = (await request(
        d.transaction(BLOBS, "readonly").objectStore(BLOBS).getAll(range(id)),
      )) as BlobRow[];
      return Object.fromEntries(rows.map((r) => [r.name, r.blob]));
    },
    async remove(id) {
      const d = await open();
      const tx = d.transaction([ENTRIES, BLOBS], "readwrite");
      const finished = done(tx);
      tx.objectStore(ENTRIES).delete(id);
      tx.objectStore(BLOBS).delete(range(id));
      await finished;
    },
  };
}
