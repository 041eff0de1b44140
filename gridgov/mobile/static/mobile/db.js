/* The phone's own storage (IndexedDB "gridgov-m"): `queue` holds what waits to be sent (queue.js), `kv` the
   last copies of what the app read (who is signed in, the catalog, my grid) so that it opens offline. */

const NAME = "gridgov-m";
const VERSION = 1; // sw.js opens it too (to read kv), with the same version and stores: change both
let opening = null;

export function open() {
  opening ??= new Promise((resolve, reject) => {
    const request = indexedDB.open(NAME, VERSION);
    request.onupgradeneeded = () => {
      const db = request.result;
      if (!db.objectStoreNames.contains("queue")) db.createObjectStore("queue", { keyPath: "key" });
      if (!db.objectStoreNames.contains("kv")) db.createObjectStore("kv");
    };
    request.onsuccess = () => {
      const db = request.result;
      // Another tab upgrading the database: let it, and open again on next use.
      db.onversionchange = () => {
        db.close();
        opening = null;
      };
      resolve(db);
    };
    request.onerror = () => reject(request.error);
  });
  return opening;
}

/** Run `work(...stores)` in one transaction over `names` (one store name, or a list of them: what must
    happen together, like a record queued and the state that led to it); resolves with what `work` gave
    once the transaction is committed (IndexedDB requests inside it resolve to their result). */
export async function transact(names, mode, work) {
  const db = await open();
  return new Promise((resolve, reject) => {
    const tx = db.transaction(names, mode);
    const stores = (Array.isArray(names) ? names : [names]).map((name) => tx.objectStore(name));
    let result;
    Promise.resolve(work(...stores))
      .then((value) => {
        result = value;
      })
      .catch((error) => {
        tx.abort();
        reject(error);
      });
    tx.oncomplete = () => resolve(result instanceof IDBRequest ? result.result : result);
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error);
  });
}

export function result(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

// Keys of `kv` the service worker reads too (sw.js): while SIGNED_OUT (a sign-out the server has not heard of
// yet) or EXPIRED (the server ended the session) is set, it neither keeps nor serves API answers; GEN is the
// generation of what the phone keeps for its person, one more each time it forgets them (sign-out, another
// person signing in), so that an answer asked for before is not kept after.
export const SIGNED_OUT = "signed_out";
export const EXPIRED = "expired";
export const GEN = "gen";

export const kv = {
  get: (key) => transact("kv", "readonly", (s) => s.get(key)),
  set: (key, value) => transact("kv", "readwrite", (s) => s.put(value, key)),
  del: (key) => transact("kv", "readwrite", (s) => s.delete(key)),
  clear: () => transact("kv", "readwrite", (s) => s.clear()),
  /** Keep `value` unless the phone forgot its person since `gen` was read (an answer of the person before). */
  setIf: (gen, key, value) =>
    transact("kv", "readwrite", async (s) => {
      if ((await result(s.get(GEN))) === gen) s.put(value, key);
    }),
};

