/* The phone's own storage (IndexedDB "gridgov-m"): `queue` holds what waits to be sent (queue.js), `kv` the
   last copies of what the app read (who is signed in, the catalog, my grid) so that it opens offline. */

const NAME = "gridgov-m";
const VERSION = 1;
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

/** Run `work(store)` in one transaction of `name`; resolves with what `work` gave once the transaction is
    committed (IndexedDB requests inside it resolve to their result). */
export async function transact(name, mode, work) {
  const db = await open();
  return new Promise((resolve, reject) => {
    const tx = db.transaction(name, mode);
    let result;
    Promise.resolve(work(tx.objectStore(name)))
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

export const kv = {
  get: (key) => transact("kv", "readonly", (s) => s.get(key)),
  set: (key, value) => transact("kv", "readwrite", (s) => s.put(value, key)),
  del: (key) => transact("kv", "readwrite", (s) => s.delete(key)),
  clear: () => transact("kv", "readwrite", (s) => s.clear()),
};
